import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { overclaimingExecutor } from './helpers/overclaiming-executor.js';
import test, { type ExecutionContext } from 'ava';
import { demux, environmentDocker, imageExists, pullAndRun } from './helpers/docker.js';
import { pushBuilderImage } from './helpers/builder-images.js';
import { testEnvironment } from './helpers/environment.js';
import { buildUntil, eventually } from './helpers/eventually.js';
import { startGitServer } from './helpers/git-server.js';
import { registryDigest } from './helpers/registry.js';
import { startAuthRegistry } from './helpers/auth-registry.js';
import { addAgent, startSlipway, type Slipway } from './helpers/slipway.js';
import type { BuildConfig } from '../proto/generated/slipway/v1/BuildConfig.js';

const unique = () => randomBytes(4).toString('hex');

async function logOf(sw: Slipway, name: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name })) lines.push(l.text);
  return lines;
}

function customConfig(name: string, uri: string, image: string, custom: Record<string, unknown>): BuildConfig {
  return {
    metadata: { name },
    spec: { source: { git: { uri, ref: 'main' } }, strategy: { custom: custom as never }, output: { image } },
  };
}

/** A builder that builds the source's Dockerfile and pushes it with the daemon it was given. */
const DOCKER_BUILDER = `set -e
echo "description: $SLIPWAY_BUILD"
echo "greeting: $GREETING"
cd "$SLIPWAY_SOURCE_DIR"
echo "source: $(ls | tr '\\n' ' ')"
echo "daemon: $DOCKER_HOST $(docker info --format '{{.Name}} containers={{.Containers}}')"
docker build -q -t "$SLIPWAY_OUTPUT_IMAGE" .
docker push "$SLIPWAY_OUTPUT_IMAGE"
`;

function dindRootFor(t: ExecutionContext): string {
  const dir = `/tmp/sw-dind-${unique()}`;
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test.serial(
  "custom: a builder given the build's private daemon builds and pushes; the digest it pushed is recorded",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    await addAgent(t, sw, { settings: { executor: 'dind', dindMode: 'per-agent', dindRoot: dindRootFor(t) } });
    const id = unique();
    const builder = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-docker-builder-${id}:v1`,
      DOCKER_BUILDER,
      { dockerCli: true },
    );
    const word = `custom-${id}`;
    const repo = await git.createRepo('app', {
      Dockerfile: `FROM ${env.baseImage}\nCOPY message /message\nCMD ["cat", "/message"]\n`,
      message: `${word}\n`,
    });
    const image = `${env.registry}/test/custom-app-${id}:v1`;
    await sw.client.createBuildConfig(
      customConfig('app', repo.uri, image, {
        image: builder,
        exposeDockerSocket: true,
        env: [
          { name: 'GREETING', value: 'hello' },
          { name: 'DOCKER_BUILDKIT', value: '0' },
        ],
      }),
    );
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const final = await sw.client.waitForBuild('default', 'app-1');
    const log = await logOf(sw, 'app-1');
    t.is(final.status!.phase, 'Complete', `${final.status!.message}\n${log.join('\n')}`);
    const digest = final.status!.output!.digest!;
    const inRegistry = await registryDigest(`test/custom-app-${id}`, 'v1');
    t.is(digest, inRegistry!, 'the digest recorded is the one in the registry');
    t.is((await pullAndRun(environmentDocker(), `${env.registry}/test/custom-app-${id}@${digest}`)).trim(), word);

    const description = JSON.parse(log.find((l) => l.startsWith('description: '))!.slice('description: '.length));
    t.like(description, {
      namespace: 'default',
      name: 'app-1',
      attempt: 1,
      config: 'app',
      source: { git: { uri: repo.uri, ref: 'main', commit: final.status!.commit }, upload: false },
      output: { image },
      sourceDir: '/workspace/source',
      dockerHost: 'unix:///var/run/docker.sock',
    });
    t.true(log.includes('greeting: hello'), 'strategy.custom.env reaches the builder');
    t.true(log.includes('source: Dockerfile message '), log.join('\n'));
    // The daemon was a fresh one of the build's own (even on a per-agent dind agent): only the
    // builder's own container on it, and the image never on the node's daemon.
    t.true(
      log.some((l) => /^daemon: unix:\/\/\/var\/run\/docker\.sock \S+ containers=1$/.test(l)),
      log.join('\n'),
    );
    t.false(await imageExists(environmentDocker(), image), "the node's daemon never had the output image");
  },
);

test.serial(
  "custom: exposeDockerSocket is never placed on the host executor (it waits NoMatchingAgent, saying why); an agent that gets it anyway refuses it, never handing over the node's daemon",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    await addAgent(t, sw, { settings: { executor: 'host' } });
    const repo = await git.createRepo('app', { message: 'x\n' });
    // The builder image would say so if it ran: it must not.
    const builder = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-echo-${unique()}:v1`,
      'echo "the builder ran"\n',
    );
    await sw.client.createBuildConfig(
      customConfig('app', repo.uri, `${env.registry}/test/custom-refused-${unique()}:v1`, {
        image: builder,
        exposeDockerSocket: true,
      }),
    );
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const waiting = await buildUntil(
      () => sw.client.getBuild('default', 'app-1'),
      (b) => b.status!.reason !== '',
      'said why it waits',
    );
    t.is(waiting.status!.phase, 'Pending');
    t.is(waiting.status!.reason, 'NoMatchingAgent');
    t.regex(
      waiting.status!.message,
      /none can give a build a Docker daemon of its own \(strategy\.custom\.exposeDockerSocket\)/,
    );

    // An executor that says it starts a daemon per build but gives the node's: placement sends
    // it the build, and only the agent's own check (on the lease it got) stands in the way.
    await addAgent(t, sw, { executor: overclaimingExecutor(env.dockerHost, { daemonPerBuild: true }) });
    const final = await sw.client.waitForBuild('default', 'app-1');
    t.is(final.status!.phase, 'Failed');
    t.is(final.status!.reason, 'DockerSocketNotPrivate');
    t.regex(final.status!.message, /strategy\.custom\.exposeDockerSocket/);
    t.false((await logOf(sw, 'app-1')).includes('the builder ran'));
  },
);

test.serial(
  'custom: the exit code decides: non-zero fails CustomBuilderFailed with it, 0 without a push fails OutputNotPushed',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t);
    const repo = await git.createRepo('app', { message: 'x\n' });
    const failing = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-failing-${unique()}:v1`,
      'echo "builder: cannot build this"\nexit 3\n',
    );
    const lazy = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-lazy-${unique()}:v1`,
      'echo "builder: done, pushed nothing"\n',
    );
    await sw.client.createBuildConfig(
      customConfig('failing', repo.uri, `${env.registry}/test/custom-out-${unique()}:v1`, { image: failing }),
    );
    await sw.client.createBuildConfig(
      customConfig('lazy', repo.uri, `${env.registry}/test/custom-out-${unique()}:v1`, { image: lazy }),
    );
    await sw.client.startBuild({ namespace: 'default', configName: 'failing' });
    const failed = await sw.client.waitForBuild('default', 'failing-1');
    t.is(failed.status!.phase, 'Failed');
    t.is(failed.status!.reason, 'CustomBuilderFailed');
    t.is(failed.status!.exitCode, 3);
    t.true((await logOf(sw, 'failing-1')).includes('builder: cannot build this'));

    await sw.client.startBuild({ namespace: 'default', configName: 'lazy' });
    const lazyBuild = await sw.client.waitForBuild('default', 'lazy-1');
    t.is(lazyBuild.status!.phase, 'Failed');
    t.is(lazyBuild.status!.reason, 'OutputNotPushed', lazyBuild.status!.message);
  },
);

test.serial('custom: cancelling stops the builder and removes its container', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const repo = await git.createRepo('app', { message: 'x\n' });
  const sleepy = await pushBuilderImage(
    environmentDocker(),
    `${env.registry}/test/custom-sleepy-${unique()}:v1`,
    'echo "builder: sleeping"\nsleep 600\n',
  );
  await sw.client.createBuildConfig(
    customConfig('sleepy', repo.uri, `${env.registry}/test/custom-out-${unique()}:v1`, { image: sleepy }),
  );
  await sw.client.startBuild({ namespace: 'default', configName: 'sleepy' });
  const docker = environmentDocker();
  const labelled = () =>
    docker.listContainers({ all: true, filters: { label: ['slipway.dev/build=sleepy-1'] } }).then((l) => l.length);
  await eventually('the builder container', async () => (await labelled()) === 1, { timeoutMs: 60_000 });
  await sw.client.cancelBuild('default', 'sleepy-1');
  const final = await sw.client.waitForBuild('default', 'sleepy-1');
  t.is(final.status!.phase, 'Cancelled');
  t.is(await labelled(), 0, 'no container of the build is left');
});

test.serial(
  'custom: the push secret reaches the builder as a docker config.json only, and the digest is read back with it',
  async (t) => {
    const env = testEnvironment();
    const password = `pw-${unique()}`;
    const registry = await startAuthRegistry(t, 'builder', password);
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    await addAgent(t, sw, { settings: { executor: 'dind', dindMode: 'per-build', dindRoot: dindRootFor(t) } });
    await sw.client.createSecret({
      metadata: { name: 'push' },
      type: 'docker-registry',
      registry: registry.address,
      username: 'builder',
      password,
    });
    const builder = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-auth-builder-${unique()}:v1`,
      `set -e
echo "description: $SLIPWAY_BUILD"
cd "$SLIPWAY_SOURCE_DIR"
docker build -q -t "$SLIPWAY_OUTPUT_IMAGE" .
docker --config "$(dirname "$SLIPWAY_PUSH_DOCKERCONFIG")" push "$SLIPWAY_OUTPUT_IMAGE"
`,
      { dockerCli: true },
    );
    const repo = await git.createRepo('app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} > /x\n` });
    const image = `${registry.address}/team/custom:v1`;
    const config = customConfig('app', repo.uri, image, {
      image: builder,
      exposeDockerSocket: true,
      env: [{ name: 'DOCKER_BUILDKIT', value: '0' }],
    });
    config.spec!.output!.pushSecret = { name: 'push' };
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const final = await sw.client.waitForBuild('default', 'app-1');
    const log = await logOf(sw, 'app-1');
    t.is(final.status!.phase, 'Complete', `${final.status!.message}\n${log.join('\n')}`);
    const res = await fetch(`http://${registry.address}/v2/team/custom/manifests/v1`, {
      method: 'HEAD',
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
        authorization: `Basic ${Buffer.from(`builder:${password}`).toString('base64')}`,
      },
    });
    t.is(final.status!.output!.digest, res.headers.get('docker-content-digest')!);
    const description = JSON.parse(log.find((l) => l.startsWith('description: '))!.slice('description: '.length));
    t.deepEqual(description.output, { image, pushDockerConfig: '/slipway/push/config.json' });
    t.false(JSON.stringify(final).includes(password), 'the password is not in the build');
    t.false(log.join('\n').includes(password), 'the password is not in the log');
    t.false(log.join('\n').includes(Buffer.from(`builder:${password}`).toString('base64')));
  },
);

/**
 * A builder without Docker: it writes the image as an OCI image layout (one uncompressed layer:
 * busybox as /bin/cat and the source's message) into SLIPWAY_OUTPUT_DIR, for the agent to push.
 */
const LAYOUT_BUILDER = `set -e
out="$SLIPWAY_OUTPUT_DIR"
blob() { d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$out/blobs/sha256/$d"; echo "$d $(wc -c < "$1" | tr -d ' ')"; }
mkdir -p "$out/blobs/sha256" /tmp/root/bin /tmp/root/app
cp /bin/busybox /tmp/root/bin/cat
cp "$SLIPWAY_SOURCE_DIR/message" /tmp/root/app/message
(cd /tmp/root && tar -cf /tmp/layer.tar bin app)
set -- $(blob /tmp/layer.tar); layer=$1; layer_size=$2
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/cat","/app/message"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer" > /tmp/config.json
set -- $(blob /tmp/config.json); config=$1; config_size=$2
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$config" "$config_size" "$layer" "$layer_size" > /tmp/manifest.json
set -- $(blob /tmp/manifest.json); manifest=$1; manifest_size=$2
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' "$manifest" "$manifest_size" > "$out/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
echo "layout written: manifest sha256:$manifest"
`;

test.serial(
  'custom: a builder without Docker leaves an OCI layout, which the agent pushes with the push secret',
  async (t) => {
    const env = testEnvironment();
    const password = `pw-${unique()}`;
    const registry = await startAuthRegistry(t, 'builder', password);
    const git = await startGitServer(t);
    const sw = await startSlipway(t);
    await sw.client.createSecret({
      metadata: { name: 'push' },
      type: 'docker-registry',
      registry: registry.address,
      username: 'builder',
      password,
    });
    const builder = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-layout-builder-${unique()}:v1`,
      LAYOUT_BUILDER,
    );
    const word = `layout-${unique()}`;
    const repo = await git.createRepo('app', { message: `${word}\n` });
    const image = `${registry.address}/team/layout:v1`;
    const config = customConfig('app', repo.uri, image, { image: builder });
    config.spec!.output!.pushSecret = { name: 'push' };
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const final = await sw.client.waitForBuild('default', 'app-1');
    const log = await logOf(sw, 'app-1');
    t.is(final.status!.phase, 'Complete', `${final.status!.message}\n${log.join('\n')}`);
    const written = log
      .find((l) => l.startsWith('layout written: manifest '))!
      .slice('layout written: manifest '.length);
    t.is(final.status!.output!.digest, written, 'the digest recorded is that of the manifest the builder wrote');
    const basic = `Basic ${Buffer.from(`builder:${password}`).toString('base64')}`;
    const res = await fetch(`http://${registry.address}/v2/team/layout/manifests/v1`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json', authorization: basic },
    });
    t.is(res.headers.get('docker-content-digest'), written);
    t.false(log.join('\n').includes(password), 'the password is not in the log');

    // Pulled and run as the registry holds it, the image is what the builder wrote.
    const docker = environmentDocker();
    const pulled = `${registry.address}/team/layout@${written}`;
    await new Promise((resolve, reject) =>
      docker.pull(
        pulled,
        { authconfig: { username: 'builder', password, serveraddress: registry.address } },
        (err, stream) =>
          err ? reject(err) : docker.modem.followProgress(stream!, (e) => (e ? reject(e) : resolve(undefined))),
      ),
    );
    t.teardown(() =>
      docker
        .getImage(pulled)
        .remove({ force: true })
        .catch(() => {}),
    );
    const container = await docker.createContainer({ Image: pulled, HostConfig: { NetworkMode: 'none' } });
    await container.start();
    await container.wait();
    const out = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    await container.remove({ force: true });
    t.is(demux(out).trim(), word);
  },
);

test.serial(
  'custom: the deadline stops the builder (DeadlineExceeded); past its memory limit it fails OutOfMemory',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t);
    const repo = await git.createRepo('app', { message: 'x\n' });
    const sleepy = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-slow-${unique()}:v1`,
      'echo "builder: sleeping"\nsleep 600\n',
    );
    const hungry = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-hungry-${unique()}:v1`,
      'dd if=/dev/zero of=/dev/null bs=200M count=1\n',
    );
    const slow = customConfig('slow', repo.uri, `${env.registry}/test/custom-out-${unique()}:v1`, { image: sleepy });
    slow.spec!.completionDeadlineSeconds = 3;
    const limited = customConfig('hungry', repo.uri, `${env.registry}/test/custom-out-${unique()}:v1`, {
      image: hungry,
    });
    limited.spec!.resources = { memory: '64Mi' };
    await sw.client.createBuildConfig(slow);
    await sw.client.createBuildConfig(limited);
    await sw.client.startBuild({ namespace: 'default', configName: 'slow' });
    await sw.client.startBuild({ namespace: 'default', configName: 'hungry' });
    const late = await sw.client.waitForBuild('default', 'slow-1');
    t.is(late.status!.phase, 'Failed');
    t.is(late.status!.reason, 'DeadlineExceeded');
    const oom = await sw.client.waitForBuild('default', 'hungry-1');
    t.is(oom.status!.reason, 'OutOfMemory', oom.status!.message);
    for (const build of ['slow-1', 'hungry-1']) {
      const left = await environmentDocker().listContainers({
        all: true,
        filters: { label: [`slipway.dev/build=${build}`] },
      });
      t.deepEqual(left, [], `no container of ${build} is left`);
    }
  },
);

test.serial(
  'custom: strategy.custom.secrets are files under SLIPWAY_SECRETS_DIR, byte for byte, masked in the log; a missing one fails before the builder runs',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t);
    const value = `token-${unique()}${unique()}`;
    await sw.client.createSecret({ metadata: { name: 'api-token' }, type: 'opaque', password: value });
    const repo = await git.createRepo('app', { message: 'x\n' });
    const builder = await pushBuilderImage(
      environmentDocker(),
      `${env.registry}/test/custom-secret-builder-${unique()}:v1`,
      `echo "secrets dir: $SLIPWAY_SECRETS_DIR"
echo "sha: $(sha256sum "$SLIPWAY_SECRETS_DIR/token" | cut -d' ' -f1)"
echo "value: $(cat "$SLIPWAY_SECRETS_DIR/token")"
exit 5
`,
    );
    const secrets = [{ id: 'token', secret: { name: 'api-token' } }];
    await sw.client.createBuildConfig(
      customConfig('app', repo.uri, `${env.registry}/test/custom-out-${unique()}:v1`, { image: builder, secrets }),
    );
    await sw.client.createBuildConfig(
      customConfig('missing', repo.uri, `${env.registry}/test/custom-out-${unique()}:v1`, {
        image: builder,
        secrets: [{ id: 'token', secret: { name: 'no-such-secret' } }],
      }),
    );
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const final = await sw.client.waitForBuild('default', 'app-1');
    t.is(final.status!.reason, 'CustomBuilderFailed', final.status!.message);
    const log = await logOf(sw, 'app-1');
    t.true(log.includes('secrets dir: /slipway/secrets'), log.join('\n'));
    t.true(log.includes(`sha: ${createHash('sha256').update(value).digest('hex')}`), 'the file holds the value');
    t.true(log.includes('value: ***'), 'the value is masked in the log');
    t.false(log.join('\n').includes(value));

    await sw.client.startBuild({ namespace: 'default', configName: 'missing' });
    const missing = await sw.client.waitForBuild('default', 'missing-1');
    t.is(missing.status!.reason, 'MissingBuildSecret', missing.status!.message);
    t.false((await logOf(sw, 'missing-1')).some((l) => l.startsWith('secrets dir')));
  },
);

test.serial(
  'custom: in a namespace that asks for unprivileged builds, a builder given a Docker daemon is refused on a user-namespace agent (the daemon is root on the node)',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0, coordinator: { unprivilegedNamespaces: ['default'] } });
    // Private daemons in a user namespace (the default): the agent says `userns`, so placement sends it the build.
    await addAgent(t, sw, { settings: { executor: 'dind', dindMode: 'per-build', dindRoot: dindRootFor(t) } });
    const repo = await git.createRepo('sock', { Dockerfile: `FROM ${env.baseImage}\n` });
    await sw.client.createBuildConfig(
      customConfig('sock', repo.uri, `${env.registry}/test/custom-sock-${unique()}:v1`, {
        image: `${env.registry}/test/never-pulled:v1`,
        exposeDockerSocket: true,
      }),
    );
    await sw.client.startBuild({ namespace: 'default', configName: 'sock' });
    const final = await sw.client.waitForBuild('default', 'sock-1', AbortSignal.timeout(60_000));
    t.is(final.status!.phase, 'Failed');
    t.is(final.status!.reason, 'UnprivilegedRequired');
    t.regex(final.status!.message!, /namespace default requires unprivileged builds/);
    t.regex(final.status!.message!, /strategy\.custom\.exposeDockerSocket\) can start containers as root on the node/);
  },
);
