import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { extract } from 'tar-stream';
import type Docker from 'dockerode';
import type { SlipwayClient } from '../cli/client.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { run, tempDir } from './helpers/processes.js';
import { startSlipway } from './helpers/slipway.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/slipway.js');
const unique = () => randomBytes(4).toString('hex');

/** A config building an inline Dockerfile with the given build secrets. */
async function startInline(
  client: SlipwayClient,
  name: string,
  dockerfile: string,
  secrets: { id: string; secret: { name: string } }[],
): Promise<Build__Output> {
  const env = testEnvironment();
  await client.createBuildConfig({
    metadata: { name },
    spec: {
      source: { dockerfile },
      strategy: { docker: { secrets } },
      output: { image: `${env.registry}/test/${name}-${unique()}:v1` },
    },
  });
  await client.startBuild({ namespace: 'default', configName: name });
  return client.waitForBuild('default', `${name}-1`);
}

async function logOf(client: SlipwayClient, build: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of client.streamBuildLogs({ namespace: 'default', name: build })) lines.push(l.text);
  return lines;
}

/**
 * Every file of `docker save` of the image (pulled by digest from the registry), and every file
 * of each layer in it, as bytes: the config with its history, the manifests, the layers' files.
 */
async function exportedFiles(docker: Docker, reference: string): Promise<Map<string, Buffer>> {
  const pull = await docker.pull(reference);
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(pull, (err) => (err ? reject(err) : resolve(undefined))),
  );
  const saved = await docker.getImage(reference).get();
  const files = new Map<string, Buffer>();
  for (const [name, data] of await untar(saved)) {
    files.set(name, data);
    const plain = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
    // A layer: a tar of its own (ustar magic at 257).
    if (plain.subarray(257, 262).toString() === 'ustar')
      for (const [inner, content] of await untar(plain)) files.set(`${name}!${inner}`, content);
  }
  return files;
}

async function untar(input: NodeJS.ReadableStream | Buffer): Promise<[string, Buffer][]> {
  const ex = extract();
  const out: [string, Buffer][] = [];
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.push([entry.header.name, Buffer.concat(chunks)]);
    }
  })();
  if (Buffer.isBuffer(input)) ex.end(input);
  else input.pipe(ex);
  await done;
  return out;
}

test.serial(
  'a RUN step reads the build secret; the image, its history, the log and the status never hold it',
  async (t) => {
    const env = testEnvironment();
    const sw = await startSlipway(t);
    const value = `s3cret-${unique()}-${unique()}`;
    const marker = `proof-${unique()}`;
    await sw.client.createSecret({ metadata: { name: 'api-token' }, type: 'opaque', password: value });
    const sha = createHash('sha256').update(value).digest('hex');
    // A file of several lines, made with the CLI: it reaches the step byte for byte.
    const npmrc = `//registry.example/:_authToken=npm-${unique()}${unique()}\nemail=ci-${unique()}@example.com\n`;
    const npmrcFile = path.join(await tempDir(t), '.npmrc');
    await writeFile(npmrcFile, npmrc);
    const server = sw.coordinators[0]!.address;
    t.is(
      await run(process.execPath, [
        BIN,
        '--server',
        server,
        'create',
        'secret',
        'opaque',
        'npm',
        '--from-file',
        npmrcFile,
      ]),
      'secret/npm created\n',
    );
    const npmrcSha = createHash('sha256').update(npmrc).digest('hex');
    // The Dockerfile holds the values' hashes, not the values: a step's command line is in the image's history.
    const dockerfile = [
      `FROM ${env.baseImage}`,
      `RUN --mount=type=secret,id=token sh -c 'test "$(sha256sum /run/secrets/token)" = "${sha}  /run/secrets/token" && echo token-ok && echo ${marker} > /proof'`,
      `RUN --mount=type=secret,id=npmrc,target=/root/.npmrc sh -c 'test "$(sha256sum < /root/.npmrc)" = "${npmrcSha}  -" && echo npmrc-ok && echo ${marker} > /proof-npmrc'`,
      // Printed on purpose: the log must show them masked.
      'RUN --mount=type=secret,id=token,required --mount=type=secret,target=/run/secrets/npmrc cat /run/secrets/token /run/secrets/npmrc',
    ].join('\n');
    const final = await startInline(sw.client, 'uses-secret', dockerfile, [
      { id: 'token', secret: { name: 'api-token' } },
      { id: 'npmrc', secret: { name: 'npm' } },
    ]);
    t.is(final.status!.phase, 'Complete', final.status!.message);
    const secretParts = [value, ...npmrc.split('\n').filter(Boolean)];

    const log = await logOf(sw.client, 'uses-secret-1');
    // The steps' output: BuildKit clips it all when the daemon's BUILDKIT_STEP_LOG_MAX_SIZE is -1
    // (dockerd 20.10's BuildKit reads that as a limit of -1 bytes).
    const output = `in the log:\n${log.join('\n')}`;
    t.true(
      log.some((l) => l.includes('token-ok')),
      `the step saw the token ${output}`,
    );
    t.true(
      log.some((l) => l.includes('npmrc-ok')),
      `the step saw the file, byte for byte, ${output}`,
    );
    t.true(
      log.some((l) => l.includes('***')),
      `the printed values are masked ${output}`,
    );
    t.deepEqual(
      log.filter((l) => secretParts.some((p) => l.includes(p))),
      [],
      'no log line holds a value, or a line of one',
    );
    t.false(
      secretParts.some((p) => JSON.stringify(final).includes(p)),
      'the status and events do not hold them',
    );

    const docker = environmentDocker();
    const image = final.status!.output!.image.replace(/:v1$/, '');
    const reference = `${image}@${final.status!.output!.digest}`;
    t.teardown(() =>
      docker
        .getImage(reference)
        .remove({ force: true })
        .catch(() => {}),
    );
    const files = await exportedFiles(docker, reference);
    const needles = [...secretParts, Buffer.from(value).toString('base64'), Buffer.from(npmrc).toString('base64')];
    const holding = [...files].filter(([, data]) => needles.some((n) => data.includes(n))).map(([name]) => name);
    t.deepEqual(holding, [], 'no file of the export holds a value');
    // The steps saw the values (each wrote its file only then), and the search can find what is
    // there: the steps' files, and a step's command in the history.
    for (const proof of ['proof', 'proof-npmrc'])
      t.true(
        [...files].some(([name, data]) => name.endsWith(`!${proof}`) && data.toString().trim() === marker),
        `the export holds /${proof}`,
      );
    t.true(
      [...files.values()].some((data) => data.includes(sha)),
      "the export's history holds the step's command",
    );
  },
);

test.serial('bad build secrets fail the build with a reason, and the value reaches no status', async (t) => {
  const env = testEnvironment();
  const sw = await startSlipway(t, { concurrency: 4 });
  const value = `s3cret-${unique()}-${unique()}`;
  await sw.client.createSecret({ metadata: { name: 'api-token' }, type: 'opaque', password: value });
  await sw.client.createSecret({
    metadata: { name: 'registry-login' },
    type: 'docker-registry',
    registry: env.registry,
    username: 'u',
    password: `pw-${unique()}`,
  });
  const base = `FROM ${env.baseImage}\n`;
  const [missing, wrongType, unknownId, stepFails] = await Promise.all([
    startInline(sw.client, 'missing', `${base}RUN --mount=type=secret,id=token true\n`, [
      { id: 'token', secret: { name: 'no-such-secret' } },
    ]),
    startInline(sw.client, 'wrong-type', `${base}RUN --mount=type=secret,id=token true\n`, [
      { id: 'token', secret: { name: 'registry-login' } },
    ]),
    startInline(
      sw.client,
      'unknown-id',
      `${base}RUN --mount=type=secret,id=token true\nRUN --mount=type=secret,id=npmrc,required cat /run/secrets/npmrc\n`,
      [{ id: 'token', secret: { name: 'api-token' } }],
    ),
    // The value is printed, then the step fails: the snippet and the message are masked.
    startInline(
      sw.client,
      'step-fails',
      `${base}RUN --mount=type=secret,id=token sh -c 'cat /run/secrets/token; exit 3'\n`,
      [{ id: 'token', secret: { name: 'api-token' } }],
    ),
  ]);

  t.is(missing.status!.phase, 'Failed');
  t.is(missing.status!.reason, 'MissingBuildSecret', missing.status!.message);
  t.is(
    missing.status!.message,
    'build secret "token" names secret "no-such-secret", which does not exist in namespace "default"',
  );

  t.is(wrongType.status!.phase, 'Failed');
  t.is(wrongType.status!.reason, 'WrongBuildSecretType', wrongType.status!.message);
  t.regex(
    wrongType.status!.message,
    /"registry-login".*a docker-registry secret: a build secret must name an opaque secret/,
  );

  t.is(unknownId.status!.phase, 'Failed');
  t.is(unknownId.status!.reason, 'UnknownBuildSecret', unknownId.status!.message);
  t.regex(unknownId.status!.message, /build secret "npmrc" at line 3 \(RUN --mount=type=secret,id=npmrc,required/);
  t.regex(unknownId.status!.message, /declared: "token"/);

  t.is(stepFails.status!.phase, 'Failed');
  t.is(stepFails.status!.reason, 'BuildStepFailed', stepFails.status!.message);
  t.regex(stepFails.status!.logSnippet, /\*\*\*/);

  // Read back as a client sees them: no status, event, snippet or log holds the value.
  for (const name of ['missing-1', 'wrong-type-1', 'unknown-id-1', 'step-fails-1']) {
    const stored = await sw.client.getBuild('default', name);
    t.false(JSON.stringify(stored).includes(value), `${name}: status and events`);
    t.false(
      (await logOf(sw.client, name)).some((l) => l.includes(value)),
      `${name}: log`,
    );
  }
});

test.serial('an opaque secret: its value is never answered, and a value too short to mask is refused', async (t) => {
  const sw = await startSlipway(t, { agents: 0 });
  const made = await sw.client.createSecret({ metadata: { name: 'token' }, type: 'opaque', password: 'v3ry-s3cret' });
  t.is(made.type, 'opaque');
  t.is(made.password, '');
  const err = await t.throwsAsync(
    sw.client.createSecret({ metadata: { name: 'short' }, type: 'opaque', password: ' ab\n', username: 'u' }),
  );
  t.regex(err!.message, /secret\.password: must be at least 3 characters besides white space/);
  t.regex(err!.message, /secret\.username: is not used by an opaque secret/);

  const config = await t.throwsAsync(
    sw.client.createBuildConfig({
      metadata: { name: 'bad' },
      spec: {
        source: { dockerfile: 'FROM busybox' },
        strategy: { docker: { secrets: [{ id: 'a b', secret: { name: 'token' } }] } },
        output: { image: '127.0.0.1:5000/x:v1' },
      },
    }),
  );
  t.regex(config!.message, /spec\.strategy\.docker\.secrets\[0\]\.id: "a b" must consist of/);
});
