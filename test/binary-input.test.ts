import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { CONTEXTS_BUCKET } from '../common/nats/names.js';
import { environmentDocker, pullAndRun } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { run, tempDir } from './helpers/processes.js';
import { addAgent, startSlipway, type Slipway } from './helpers/slipway.js';
import { tarball } from './helpers/tarball.js';
import { eventually } from './helpers/eventually.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/slipway.js');
const unique = () => randomBytes(4).toString('hex');

async function uploadConfig(sw: Slipway, name: string, image: string) {
  await sw.client.createBuildConfig({
    metadata: { name },
    spec: { source: { binary: {} }, strategy: { docker: {} }, output: { image } },
  });
}

test.serial(
  'start --from-dir uploads the folder less its .dockerignore, and the upload is removed after the build',
  async (t) => {
    const env = testEnvironment();
    const sw = await startSlipway(t);
    const dir = await tempDir(t);
    await mkdir(path.join(dir, 'sub'));
    await writeFile(
      path.join(dir, 'Dockerfile'),
      `FROM ${env.baseImage}\nCOPY . /ctx\nCMD ["find", "/ctx", "-type", "f"]\n`,
    );
    await writeFile(path.join(dir, '.dockerignore'), 'secret.txt\n*.log\n');
    await writeFile(path.join(dir, 'keep.txt'), 'keep\n');
    await writeFile(path.join(dir, 'secret.txt'), 'do not ship\n');
    await writeFile(path.join(dir, 'debug.log'), 'noise\n');
    await writeFile(path.join(dir, 'sub', 'nested.txt'), 'nested\n');
    const image = `${env.registry}/test/upload-${unique()}:v1`;
    await uploadConfig(sw, 'upload', image);

    // Started without a context, a config that needs one is refused, and nothing is started.
    const refused = await t.throwsAsync<grpc.ServiceError>(
      sw.client.startBuild({ namespace: 'default', configName: 'upload' }),
    );
    t.is(refused?.code, grpc.status.INVALID_ARGUMENT);
    t.regex(refused!.details, /--from-dir/);

    const out = await run(process.execPath, [
      BIN,
      '--server',
      sw.coordinators[0]!.address,
      'start',
      'upload',
      '--from-dir',
      dir,
      '--follow',
    ]);
    t.regex(out, /build\/upload-1 Complete/);
    const final = await sw.client.getBuild('default', 'upload-1');
    // Downloading and unpacking the upload is the FetchInputs stage.
    t.deepEqual(
      final.status!.stages.map((s) => s.name),
      ['FetchInputs', 'PullImages', 'Build', 'PushImage'],
    );
    const files = (
      await pullAndRun(environmentDocker(), `${image.replace(/:v1$/, '')}@${final.status!.output!.digest}`)
    )
      .trim()
      .split('\n')
      .sort();
    t.deepEqual(files, ['/ctx/.dockerignore', '/ctx/Dockerfile', '/ctx/keep.txt', '/ctx/sub/nested.txt']);

    const object = final.spec!.config!.source!.binary!.object;
    t.regex(object, /^default\/upload\//);
    const nc = await connect({ servers: sw.natsUrl });
    t.teardown(() => nc.close());
    const store = await new Objm(nc).open(CONTEXTS_BUCKET);
    await eventually(
      'the uploaded context to be removed',
      async () => {
        const info = await store.info(object);
        return info === null || info.deleted;
      },
      { timeoutMs: 5000 },
    );
    const info = await store.info(object);
    t.true(info === null || info.deleted, 'the uploaded context is removed once its build ended');
  },
);

test.serial('crafted archives fail InvalidContext and write nothing outside the build folder', async (t) => {
  const env = testEnvironment();
  const sw = await startSlipway(t, { concurrency: 4 });
  await uploadConfig(sw, 'hostile', `${env.registry}/test/hostile-${unique()}:v1`);
  const marker = `escape-${unique()}`;
  const dockerfile = { name: 'Dockerfile', content: `FROM ${env.baseImage}\n` };
  const cases = [
    { why: /climbs out with "\.\."/, entries: [dockerfile, { name: `../../../../${marker}`, content: 'gotcha' }] },
    { why: /absolute path/, entries: [dockerfile, { name: `/tmp/${marker}`, content: 'gotcha' }] },
    {
      why: /link to the absolute path "\/etc"/,
      entries: [dockerfile, { name: 'etc', type: 'symlink' as const, linkname: '/etc' }, { name: `etc/${marker}` }],
    },
    {
      why: /outside the context/,
      entries: [dockerfile, { name: 'up', type: 'symlink' as const, linkname: '../../..' }, { name: `up/${marker}` }],
    },
    { why: /character-device entry/, entries: [dockerfile, { name: 'null', type: 'character-device' as const }] },
    // Each link, read as text, stays inside; followed one after another they climb to "/".
    {
      why: /archive entry "e0" is a link to "up\/\.\.", which leads outside the context \(through the link "up"\)/,
      entries: [
        dockerfile,
        { name: 'up', type: 'symlink' as const, linkname: '.' },
        ...Array.from({ length: 12 }, (_, i) => ({
          name: `e${i}`,
          type: 'symlink' as const,
          linkname: `${i === 0 ? 'up' : `e${i - 1}`}/..`,
        })),
        { name: `e11/tmp/${marker}-dir/`, type: 'directory' as const },
        { name: `e11/tmp/${marker}-file/f` },
      ],
    },
  ];
  const builds = [];
  for (const c of cases) {
    const archive = await tarball(c.entries);
    builds.push(await sw.client.startBuildWithContext({ namespace: 'default', configName: 'hostile' }, [archive]));
  }
  for (const [i, b] of builds.entries()) {
    const final = await sw.client.waitForBuild('default', b.metadata!.name);
    t.is(final.status!.phase, 'Failed', `case ${i}`);
    t.is(final.status!.reason, 'InvalidContext', `case ${i}: ${final.status!.message}`);
    t.regex(final.status!.message, cases[i]!.why, `case ${i}`);
  }
  const work = sw.workDirs[0]!;
  for (const place of [tmpdir(), '/tmp', '/etc', path.dirname(work), work]) {
    for (const name of [marker, `${marker}-dir`, `${marker}-file`])
      t.false(existsSync(path.join(place, name)), `${place}/${name}`);
  }
  t.deepEqual(await readdir(work), [], 'every build folder was removed');
});

test.serial(
  'an upload with too many entries, or that unpacks far past its size, fails with a reason of its own',
  async (t) => {
    const env = testEnvironment();
    const sw = await startSlipway(t, { agents: 0 });
    await addAgent(t, sw, { settings: { maxContextEntries: 5, maxContextRatio: 20 } });
    await uploadConfig(sw, 'limits', `${env.registry}/test/limits-${unique()}:v1`);
    const dockerfile = { name: 'Dockerfile', content: `FROM ${env.baseImage}\n` };
    const many = await tarball([dockerfile, ...Array.from({ length: 5 }, (_, i) => ({ name: `f${i}` }))]);
    // 17 MiB of zeros gzip to about 17 KiB: a ratio of about 1000.
    const bomb = gzipSync(await tarball([dockerfile, { name: 'zeros', content: Buffer.alloc(17 * 1024 ** 2) }]));
    const cases = [
      {
        archive: many,
        reason: 'ContextTooManyEntries',
        why: /more than 5 entries; the limit is SLIPWAY_AGENT_MAX_CONTEXT_ENTRIES/,
      },
      { archive: bomb, reason: 'ContextRatioTooHigh', why: /more than 20 times its compressed size/ },
    ];
    for (const c of cases) {
      const b = await sw.client.startBuildWithContext({ namespace: 'default', configName: 'limits' }, [c.archive]);
      const final = await sw.client.waitForBuild('default', b.metadata!.name);
      t.is(final.status!.phase, 'Failed');
      t.is(final.status!.reason, c.reason, final.status!.message);
      t.regex(final.status!.message, c.why);
    }
    t.deepEqual(await readdir(sw.workDirs[0]!), [], 'every build folder was removed');
  },
);

test.serial('an upload over the size limit is refused whole and starts nothing', async (t) => {
  const sw = await startSlipway(t, { agents: 0, coordinator: { maxContextBytes: 64 * 1024 } });
  await uploadConfig(sw, 'big', '127.0.0.1:9/test/big:v1');
  const err = await t.throwsAsync<grpc.ServiceError>(
    sw.client.startBuildWithContext({ namespace: 'default', configName: 'big' }, [randomBytes(200 * 1024)]),
  );
  t.is(err?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(err!.details, /context: is larger than the limit of 65536 bytes/);
  t.deepEqual(await sw.client.listBuilds({ namespace: 'default' }), []);
});
