import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { LABELS } from '../agent/build-runner.js';
import { DockerRuntime } from '../agent/container-runtime/docker-runtime.js';
import { copyImageSources } from '../agent/source/image-sources.js';
import { SourceImageLeases } from '../agent/source/source-image-leases.js';
import { FIELDS_METADATA_KEY } from '../common/grpc/status.js';
import type { BuildConfig } from '../proto/generated/slipway/v1/BuildConfig.js';
import type { ImageSource } from '../proto/generated/slipway/v1/ImageSource.js';
import { startAuthRegistry } from './helpers/auth-registry.js';
import { eventually } from './helpers/eventually.js';
import { environmentDocker, imageExists } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { registryDigest } from './helpers/registry.js';
import { startSlipway, type Slipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

/** Builds `dockerfile` by hand (no Slipway labels) as `tag`, pushes it, and removes it from the daemon: the agent must pull it. */
async function pushedImage(
  docker: Docker,
  dockerfile: string,
  tag: string,
  auth?: { username: string; password: string; serveraddress: string },
): Promise<void> {
  const context = pack();
  context.entry({ name: 'Dockerfile' }, dockerfile);
  context.finalize();
  await follow(docker, await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag }));
  const at = tag.lastIndexOf(':');
  await follow(docker, await docker.getImage(tag).push({ tag: tag.slice(at + 1), authconfig: auth }));
  await docker.getImage(tag).remove();
}

async function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err, out) => {
      const failed = (out as { error?: string }[] | undefined)?.find((m) => m.error);
      if (err || failed) reject(err ?? new Error(failed!.error));
      else resolve(undefined);
    }),
  );
}

/** The deps image: files, a folder with a subfolder and a link, and a tool, marked with `u`. */
const depsDockerfile = (base: string, u: string) =>
  `FROM ${base}\nRUN mkdir -p /opt/deps/sub /usr/local/bin && echo one-${u} > /opt/deps/a.txt && echo two > /opt/deps/sub/b.txt && ln -s a.txt /opt/deps/link && echo tool-${u} > /usr/local/bin/tool\n`;

function imageConfig(
  name: string,
  output: string,
  source: { git?: string; dockerfile?: string; images: ImageSource[] },
): BuildConfig {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      source: {
        ...(source.git ? { git: { uri: source.git, ref: 'main' } } : {}),
        ...(source.dockerfile ? { dockerfile: source.dockerfile } : {}),
        images: source.images,
      },
      strategy: { docker: {} },
      output: { image: output },
    },
  };
}

/** Removes the builds' output images from the daemon when the test ends (they are Slipway's, labelled; GC would take them). */
function removeOutputsAtEnd(t: import('ava').ExecutionContext, configs: BuildConfig[]): void {
  const docker = environmentDocker();
  t.teardown(async () => {
    for (const c of configs)
      await docker
        .getImage(c.spec!.output!.image!)
        .remove()
        .catch(() => {});
  });
}

async function logOf(sw: Slipway, name: string): Promise<string> {
  const lines: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name })) lines.push(l.text);
  return lines.join('\n');
}

/** Nothing of the builds is left: no container of theirs, no build folder, not the source image. */
async function nothingLeft(t: import('ava').ExecutionContext, sw: Slipway, builds: string[], images: string[]) {
  const docker = environmentDocker();
  for (const build of builds) {
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.build}=${build}`] } });
    t.deepEqual(left, [], `no container of ${build} is left`);
  }
  for (const image of images) t.false(await imageExists(docker, image), `${image} was removed`);
  for (const dir of sw.workDirs) t.deepEqual(await readdir(dir), [], `no build folder is left in ${dir}`);
}

test.serial(
  "paths copied out of an image land in the build's context beside a git source, or alone; the image is pulled by digest, recorded, and removed after",
  async (t) => {
    const env = testEnvironment();
    const docker = environmentDocker();
    const u = unique();
    const repository = `test/src-deps-${u}`;
    const deps = `${env.registry}/${repository}:v1`;
    await pushedImage(docker, depsDockerfile(env.baseImage, u), deps);
    const digest = await registryDigest(repository, 'v1');
    t.truthy(digest);

    const git = await startGitServer(t);
    const repo = await git.createRepo(`app-${u}`, {
      'app.txt': 'app\n',
      Dockerfile: [
        `FROM ${env.baseImage}`,
        'COPY . /ctx',
        `RUN test "$(cat /ctx/vendor/a.txt)" = one-${u} && test -f /ctx/vendor/sub/b.txt && test -L /ctx/vendor/link`,
        `RUN test "$(cat /ctx/tools/tool)" = tool-${u} && test -f /ctx/deps/a.txt && test -f /ctx/deps/sub/b.txt && test -f /ctx/app.txt`,
        '',
      ].join('\n'),
    });
    const sw = await startSlipway(t, { concurrency: 2 });
    const paths = [
      { sourcePath: '/opt/deps/.', destinationDir: 'vendor' },
      { sourcePath: '/usr/local/bin/tool', destinationDir: 'tools' },
      { sourcePath: '/opt/deps' },
    ];
    const configs = [
      imageConfig('with-git', `${env.registry}/test/src-with-git-${u}:v1`, {
        git: repo.uri,
        images: [{ from: deps, paths }],
      }),
      imageConfig('alone', `${env.registry}/test/src-alone-${u}:v1`, {
        dockerfile: `FROM ${env.baseImage}\nCOPY tools/tool /t\nRUN test "$(cat /t)" = tool-${u}\n`,
        images: [{ from: deps, paths: [{ sourcePath: '/usr/local/bin/tool', destinationDir: 'tools' }] }],
      }),
    ];
    removeOutputsAtEnd(t, configs);
    for (const c of configs) await sw.client.createBuildConfig(c);
    // At once on one agent: both use the image; the last one done with it removes it.
    await sw.client.startBuild({ namespace: 'default', configName: 'with-git' });
    await sw.client.startBuild({ namespace: 'default', configName: 'alone' });
    for (const name of ['with-git-1', 'alone-1']) {
      const final = await sw.client.waitForBuild('default', name);
      t.is(final.status!.phase, 'Complete', `${name}: ${final.status!.reason} ${final.status!.message}`);
      t.deepEqual(
        final.status!.sourceImages.map((s) => ({ from: s.from, digest: s.digest })),
        [{ from: deps, digest }],
        `${name} records the digest it copied from`,
      );
      t.true(final.status!.events.some((e) => e.reason === 'SourceImagesResolved'));
      t.regex(await logOf(sw, name), /Copied \/usr\/local\/bin\/tool from /);
    }
    await nothingLeft(t, sw, ['with-git-1', 'alone-1'], [`${env.registry}/${repository}@${digest}`]);
  },
);

test.serial(
  'an image that needs credentials is pulled with its pullSecret; without one, or with a secret that does not exist, the build fails naming the field',
  async (t) => {
    const env = testEnvironment();
    const docker = environmentDocker();
    const u = unique();
    const password = `pw-${u}`;
    const registry = await startAuthRegistry(t, 'puller', password);
    const deps = `${registry.address}/team/deps-${u}:v1`;
    await pushedImage(docker, depsDockerfile(env.baseImage, u), deps, {
      username: 'puller',
      password,
      serveraddress: registry.address,
    });
    const sw = await startSlipway(t);
    await sw.client.createSecret({
      metadata: { name: 'pull' },
      type: 'docker-registry',
      registry: registry.address,
      username: 'puller',
      password,
    });
    const cases = [
      { name: 'no-secret', pullSecret: undefined, phase: 'Failed', reason: 'SourceImageAuthFailed' },
      { name: 'gone-secret', pullSecret: 'nonexistent', phase: 'Failed', reason: 'MissingSourceImagePullSecret' },
      { name: 'with-secret', pullSecret: 'pull', phase: 'Complete', reason: '' },
    ];
    for (const c of cases) {
      const config = imageConfig(c.name, `${env.registry}/test/src-${c.name}-${u}:v1`, {
        dockerfile: `FROM ${env.baseImage}\nCOPY deps/a.txt /a\nRUN test "$(cat /a)" = one-${u}\n`,
        images: [
          {
            from: deps,
            ...(c.pullSecret ? { pullSecret: { name: c.pullSecret } } : {}),
            paths: [{ sourcePath: '/opt/deps' }],
          },
        ],
      });
      removeOutputsAtEnd(t, [config]);
      await sw.client.createBuildConfig(config);
      await sw.client.startBuild({ namespace: 'default', configName: c.name });
      const final = await sw.client.waitForBuild('default', `${c.name}-1`);
      t.is(final.status!.phase, c.phase, `${c.name}: ${final.status!.reason} ${final.status!.message}`);
      t.is(final.status!.reason, c.reason, c.name);
      if (c.phase === 'Failed') {
        t.regex(final.status!.message, /^source\.images\[0\]\.(from|pullSecret)/, c.name);
        t.log(`${c.name}: ${final.status!.reason}: ${final.status!.message}`);
      }
      t.false(JSON.stringify(final).includes(password), `${c.name}: the password is not in the build`);
      t.false((await logOf(sw, `${c.name}-1`)).includes(password), `${c.name}: nor in its log`);
    }
    const digest = (await sw.client.getBuild('default', 'with-secret-1')).status!.sourceImages[0]!.digest;
    await nothingLeft(
      t,
      sw,
      cases.map((c) => `${c.name}-1`),
      [`${registry.address}/team/deps-${u}@${digest}`],
    );
  },
);

test.serial(
  'bad input: ".." or an absolute destination is refused by the API; a path not in the image and an image that does not exist fail the build, naming the field',
  async (t) => {
    const env = testEnvironment();
    const docker = environmentDocker();
    const u = unique();
    const repository = `test/src-bad-${u}`;
    const deps = `${env.registry}/${repository}:v1`;
    await pushedImage(docker, depsDockerfile(env.baseImage, u), deps);
    const digest = await registryDigest(repository, 'v1');
    const sw = await startSlipway(t);

    for (const [destinationDir, what] of [
      ['../outside', '".."'],
      ['/etc', 'an absolute path'],
    ] as const) {
      const err = await t.throwsAsync<grpc.ServiceError>(
        sw.client.createBuildConfig(
          imageConfig('refused', `${env.registry}/test/src-refused:v1`, {
            dockerfile: 'FROM scratch\n',
            images: [{ from: deps, paths: [{ sourcePath: '/opt/deps', destinationDir }] }],
          }),
        ),
      );
      t.is(err?.code, grpc.status.INVALID_ARGUMENT, what);
      const fields = JSON.parse(String(err?.metadata.get(FIELDS_METADATA_KEY)[0])) as { field: string }[];
      t.deepEqual(
        fields.map((f) => f.field),
        ['spec.source.images[0].paths[0].destinationDir'],
        what,
      );
    }

    const cases = [
      {
        name: 'no-path',
        from: deps,
        sourcePath: '/opt/nothing-here',
        reason: 'SourceImagePathNotFound',
        message: /^source\.images\[0\]\.paths\[1\]\.sourcePath: "\/opt\/nothing-here" is not in /,
      },
      {
        name: 'no-image',
        from: `${env.registry}/test/src-never-pushed-${u}:v1`,
        sourcePath: '/opt/deps',
        reason: 'SourceImageNotFound',
        message: /^source\.images\[0\]\.from: /,
      },
      {
        name: 'no-tag',
        from: `${env.registry}/${repository}:never-pushed`,
        sourcePath: '/opt/deps',
        reason: 'SourceImageNotFound',
        message: /^source\.images\[0\]\.from: /,
      },
    ];
    for (const c of cases) {
      await sw.client.createBuildConfig(
        imageConfig(c.name, `${env.registry}/test/src-${c.name}-${u}:v1`, {
          dockerfile: `FROM ${env.baseImage}\n`,
          images: [{ from: c.from, paths: [{ sourcePath: '/opt/deps/a.txt' }, { sourcePath: c.sourcePath }] }],
        }),
      );
      await sw.client.startBuild({ namespace: 'default', configName: c.name });
      const final = await sw.client.waitForBuild('default', `${c.name}-1`);
      t.is(final.status!.phase, 'Failed', c.name);
      t.is(final.status!.reason, c.reason, `${c.name}: ${final.status!.message}`);
      t.regex(final.status!.message, c.message, c.name);
      t.log(`${c.name}: ${final.status!.reason}: ${final.status!.message}`);
    }
    await nothingLeft(
      t,
      sw,
      cases.map((c) => `${c.name}-1`),
      [`${env.registry}/${repository}@${digest}`],
    );
  },
);

test.serial(
  'an attempt given the digests an earlier attempt recorded copies from those, not from what the tag names now',
  async (t) => {
    const env = testEnvironment();
    const docker = environmentDocker();
    const u = unique();
    const repository = `test/src-moved-${u}`;
    const tag = `${env.registry}/${repository}:v1`;
    await pushedImage(docker, depsDockerfile(env.baseImage, `first-${u}`), tag);
    const first = (await registryDigest(repository, 'v1'))!;
    await pushedImage(docker, depsDockerfile(env.baseImage, `second-${u}`), tag);
    t.not(await registryDigest(repository, 'v1'), first);

    const runtime = new DockerRuntime(env.dockerHost);
    const leases = new SourceImageLeases();
    const labels = { [LABELS.build]: `moved-${u}-1`, [LABELS.attempt]: '2' };
    const copy = async (recorded?: { from: string; digest: string }[]) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'slipway-src-'));
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      const used = await copyImageSources({
        images: [{ from: tag, paths: [{ sourcePath: '/opt/deps/a.txt', destinationDir: '' }] }],
        recorded,
        credentials: new Map(),
        contextDir: dir,
        runtime,
        labels,
        limits: { maxBytes: 1 << 20, maxEntries: 100, maxRatio: 100 },
        leases,
        onLine: () => {},
        signal: new AbortController().signal,
      });
      return { used, text: (await readFile(path.join(dir, 'a.txt'), 'utf8')).trim() };
    };
    const retried = await copy([{ from: tag, digest: first }]);
    t.is(retried.text, `one-first-${u}`);
    t.deepEqual(retried.used, [{ from: tag, digest: first }]);
    const fresh = await copy();
    t.is(fresh.text, `one-second-${u}`);
    t.not(fresh.used[0]!.digest, first);
    t.deepEqual(leases.inUse(), []);
    for (const d of [first, fresh.used[0]!.digest])
      t.false(await imageExists(docker, `${env.registry}/${repository}@${d}`), `${d} was removed`);
    t.deepEqual(await docker.listContainers({ all: true, filters: { label: [`${LABELS.build}=moved-${u}-1`] } }), []);
  },
);

test.serial(
  'an ImageChange trigger on a source image: a new digest of its tag starts a build that copies from exactly that digest',
  async (t) => {
    const env = testEnvironment();
    const docker = environmentDocker();
    const u = unique();
    const repository = `test/src-trig-${u}`;
    const deps = `${env.registry}/${repository}:v1`;
    await pushedImage(docker, depsDockerfile(env.baseImage, `first-${u}`), deps);
    const sw = await startSlipway(t, { coordinator: { imagePollIntervalMs: 1000 } });
    const config = imageConfig('trig', `${env.registry}/test/src-trig-out-${u}:v1`, {
      dockerfile: `FROM ${env.baseImage}\nCOPY a.txt /a\nRUN test "$(cat /a)" = one-second-${u}\n`,
      images: [{ from: deps, paths: [{ sourcePath: '/opt/deps/a.txt' }] }],
    });
    config.spec!.triggers = [{ type: 'ImageChange', imageChange: { from: deps } }];
    removeOutputsAtEnd(t, [config]);
    await sw.client.createBuildConfig(config);
    // The poller records the tag's digest as a baseline (no build), then sees it move.
    await eventually('the baseline', async () =>
      (await sw.client.getBuildConfig('default', 'trig')).status?.imageTriggers?.[0]?.lastDigest ? true : undefined,
    );
    await pushedImage(docker, depsDockerfile(env.baseImage, `second-${u}`), deps);
    const second = (await registryDigest(repository, 'v1'))!;
    await eventually('a build of the new digest', async () => {
      const items = await sw.client.listBuilds({ namespace: 'default', configName: 'trig' });
      return items.length > 0 ? true : undefined;
    });
    const final = await sw.client.waitForBuild('default', 'trig-1');
    t.is(final.status!.phase, 'Complete', `${final.status!.reason} ${final.status!.message}`);
    t.is(final.spec!.triggeredBy[0]!.type, 'ImageChange');
    t.is(final.spec!.config!.source!.images[0]!.from, `${env.registry}/${repository}@${second}`);
    t.is(final.status!.sourceImages[0]!.digest, second);
    t.false(
      final.spec!.config!.strategy!.docker!.forcePull,
      'a source image is pinned, the bases are not pulled afresh',
    );
    await nothingLeft(t, sw, ['trig-1'], [`${env.registry}/${repository}@${second}`]);
  },
);
