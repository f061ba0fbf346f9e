import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import test, { type ExecutionContext } from 'ava';
import type * as grpc from '@grpc/grpc-js';
import type Docker from 'dockerode';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { Agent } from '../agent/agent.js';
import { describeBuild } from '../cli/format.js';
import { BUILDS_BUCKET } from '../common/nats/names.js';
import { fanOut } from '../coordinator/builds/platform-builds.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { testEnvironment } from './helpers/environment.js';
import { eventually } from './helpers/eventually.js';
import { startGitServer, type GitServer } from './helpers/git-server.js';
import { pushMultiPlatformBase, skopeoInspect } from './helpers/multi-platform-image.js';
import { startRegistryProxy } from './helpers/registry-proxy.js';
import { addAgent, agentDaemon, dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';

// Issue #24: one config, several architectures, each built natively on a node of its own.
// Every daemon on this machine is amd64, so the arm64 node is a simulation, named as such: an
// agent that advertises kubernetes.io/arch=arm64 (SLIPWAY_NODE_LABELS, as its Node's labels
// would on a real arm64 node) beside one that advertises the machine's own amd64. What is real:
// each agent builds on a Docker daemon of its own (the dind executor), BuildKit builds for the
// platform asked (FROM + COPY, no RUN: nothing of arm64 is executed), so the arm64 image is one
// (its config and its base layer are the base image's arm64 ones), and the registry, the index
// and skopeo reading it back.

const unique = () => randomBytes(4).toString('hex');
const PLATFORMS = ['linux/amd64', 'linux/arm64'];

interface Setup {
  sw: Slipway;
  /** The agent advertising amd64 (the machine's own platform) and the one advertising arm64. */
  amd64: Agent;
  arm64: Agent;
  git: GitServer;
  /** registry/repository of the output (through `registry`). */
  repository: string;
  /** host:port builds push to. */
  registry: string;
  base: string;
  manifestPuts: () => { repository: string; reference: string }[];
}

async function setUp(t: ExecutionContext, o: { coordinators?: number; kubeApi?: boolean } = {}): Promise<Setup> {
  const env = testEnvironment();
  // In front of the real registry: counts manifest PUTs (each platform's and the index's).
  const proxy = await startRegistryProxy(t, env.registry);
  const base = (await pushMultiPlatformBase(`${proxy.address}/test/mp-base-${unique()}`)).reference;
  const sw = await startSlipway(t, {
    coordinators: o.coordinators ?? 1,
    agents: 0,
    ...(o.kubeApi ? { coordinator: { kubeApiListen: '127.0.0.1:0' } } : {}),
  });
  const dind = async (labels: Record<string, string>) => {
    const dindRoot = `/tmp/sw-dind-${unique()}`;
    t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
    return addAgent(t, sw, {
      settings: { executor: 'dind', dindMode: 'per-agent', dindRoot, nodeLabels: labels },
    });
  };
  const amd64 = await dind({});
  const arm64 = await dind({ 'kubernetes.io/arch': 'arm64' });
  return {
    sw,
    amd64,
    arm64,
    git: await startGitServer(t),
    repository: `${proxy.address}/test/mp-${unique()}`,
    registry: proxy.address,
    base,
    manifestPuts: proxy.manifestPuts,
  };
}

/** Makes config `name` building `files` for `platforms` into `<repository>:v1`; returns the image. */
async function platformsConfig(
  s: Setup,
  name: string,
  files: Record<string, string>,
  platforms = PLATFORMS,
): Promise<string> {
  const repo = await s.git.createRepo(name, files);
  const image = `${s.repository}:v1`;
  const config = dockerBuildConfig(name, repo.uri, image);
  config.spec!.output!.platforms = platforms;
  await s.sw.client.createBuildConfig(config);
  return image;
}

async function build(s: Setup, config: string, ref?: string): Promise<Build__Output> {
  const started = await s.sw.client.startBuild({ namespace: 'default', configName: config, ref: ref ?? '' });
  return s.sw.client.waitForBuild('default', started.metadata!.name, AbortSignal.timeout(240_000));
}

/** The images on `docker` a build of `name` left, with their architecture. */
async function builtOn(docker: Docker, name: string): Promise<string[]> {
  const images = await docker.listImages({ filters: { label: [`slipway.dev/build=${name}`] } });
  return Promise.all(images.map(async (i) => (await docker.getImage(i.Id).inspect()).Architecture));
}

interface IndexManifest {
  mediaType: string;
  manifests: { digest: string; mediaType: string; platform: { os: string; architecture: string } }[];
}

async function readIndex(image: string): Promise<{ index: IndexManifest; digest: string }> {
  const raw = await skopeoInspect('--raw', `docker://${image}`);
  return {
    index: JSON.parse(raw) as IndexManifest,
    digest: `sha256:${createHash('sha256').update(raw.trim()).digest('hex')}`,
  };
}

test('a build of two platforms builds each natively on an agent of its architecture and pushes one index', async (t) => {
  const s = await setUp(t);
  // arm64 first: with nothing but load to go by, placement would put it on the first agent, amd64's.
  const image = await platformsConfig(
    s,
    'multi',
    {
      Dockerfile: `FROM ${s.base}\nCOPY app.txt /app.txt\n`,
      'app.txt': 'the same app for every platform\n',
    },
    ['linux/arm64', 'linux/amd64'],
  );
  const b = await build(s, 'multi');
  const st = b.status!;
  t.is(st.phase, 'Complete', `${st.reason}: ${st.message}`);
  t.deepEqual(
    st.platforms.map((p) => [p.platform, p.build, p.phase, p.node]),
    [
      ['linux/arm64', 'multi-1-linux-arm64', 'Complete', s.arm64.config.node],
      ['linux/amd64', 'multi-1-linux-amd64', 'Complete', s.amd64.config.node],
    ],
  );

  // The index at the tag, read by a registry client no one here wrote, names both platforms
  // with the digests the build reports.
  const { index, digest } = await readIndex(image);
  t.is(st.output!.digest, digest);
  t.is(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  t.deepEqual(
    index.manifests.map((m) => [`${m.platform.os}/${m.platform.architecture}`, m.digest]),
    st.platforms.map((p) => [p.platform, p.digest]),
  );
  for (const p of st.platforms) {
    const config = JSON.parse(await skopeoInspect('--config', `docker://${s.repository}@${p.digest}`)) as {
      architecture: string;
    };
    t.is(`linux/${config.architecture}`, p.platform, `${p.platform}'s image is of its platform`);
  }

  // Counted on the daemons: each platform was built once, on its own agent's daemon only.
  const [amdDaemon, armDaemon] = [await agentDaemon(s.amd64), await agentDaemon(s.arm64)];
  t.deepEqual(await builtOn(amdDaemon, 'multi-1-linux-amd64'), ['amd64']);
  t.deepEqual(await builtOn(armDaemon, 'multi-1-linux-arm64'), ['arm64']);
  t.deepEqual(await builtOn(amdDaemon, 'multi-1-linux-arm64'), []);
  t.deepEqual(await builtOn(armDaemon, 'multi-1-linux-amd64'), []);

  // Each platform pushed by digest, the index once to the tag: nothing else moved the tag.
  const repo = s.repository.slice(s.registry.length + 1);
  t.deepEqual(
    s
      .manifestPuts()
      .filter((p) => p.repository === repo)
      .map((p) => p.reference)
      .sort(),
    [...st.platforms.map((p) => p.digest), 'v1'].sort(),
  );

  // Logs per platform, chosen by the platform; the build of several has none of its own.
  const lines: string[] = [];
  for await (const l of s.sw.client.streamBuildLogs({
    namespace: 'default',
    name: b.metadata!.name,
    platform: 'linux/arm64',
  }))
    lines.push(l.text);
  t.true(
    lines.some((l) => l.includes(`(linux/arm64)`) && l.startsWith('Pushed ')),
    lines.slice(-5).join('\n'),
  );
  const err = await t.throwsAsync(async () => {
    for await (const _ of s.sw.client.streamBuildLogs({ namespace: 'default', name: b.metadata!.name }));
  });
  t.is((err as grpc.ServiceError).code, 3);
  t.regex(err!.message, /builds 2 platforms, each with a log of its own: name one \(linux\/arm64, linux\/amd64\)/);

  // describe shows every platform with its build, node and digest.
  const described = describeBuild(b);
  for (const p of st.platforms) t.regex(described, new RegExp(`${p.platform}\\s+${p.build}\\s+Complete\\s+${p.node}`));
});

test('a platform that fails fails the build, naming it, and the tag stays where it was', async (t) => {
  const s = await setUp(t);
  // main builds for both; on "arm-broken", the COPY names a file only amd64's context has
  // (TARGETARCH is BuildKit's own argument): only arm64's build fails. No RUN step either way.
  const repo = await s.git.createRepo('fails', {
    Dockerfile: `FROM ${s.base}\nCOPY app.txt /app.txt\n`,
    'app.txt': 'v1\n',
  });
  await s.git.pushCommit(
    'fails',
    {
      Dockerfile: `FROM ${s.base}\nARG TARGETARCH\nCOPY only-\${TARGETARCH}.txt /app.txt\n`,
      'only-amd64.txt': 'v2 for amd64\n',
    },
    { branch: 'arm-broken' },
  );
  const image = `${s.repository}:v1`;
  const config = dockerBuildConfig('fails', repo.uri, image);
  config.spec!.output!.platforms = PLATFORMS;
  await s.sw.client.createBuildConfig(config);

  const first = await build(s, 'fails');
  t.is(first.status!.phase, 'Complete', `${first.status!.reason}: ${first.status!.message}`);
  const before = (await readIndex(image)).digest;
  t.is(before, first.status!.output!.digest);

  const second = await build(s, 'fails', 'arm-broken');
  const st = second.status!;
  t.is(st.phase, 'Failed');
  t.regex(st.message, /^platform linux\/arm64 \(build fails-2-linux-arm64\) ended Failed/);
  t.is(st.platforms.find((p) => p.platform === 'linux/arm64')!.phase, 'Failed');
  t.falsy(st.output?.digest, 'no index');
  t.is((await readIndex(image)).digest, before, 'the output tag was not moved');
  // The other platform's build completed (pushed by digest, untagged) or was cancelled.
  const amd = await s.sw.client.waitForBuild('default', 'fails-2-linux-amd64', AbortSignal.timeout(60_000));
  t.true(['Complete', 'Cancelled'].includes(amd.status!.phase), amd.status!.phase);
  const repoPath = s.repository.slice(s.registry.length + 1);
  t.deepEqual(
    s
      .manifestPuts()
      .filter((p) => p.repository === repoPath && p.reference === 'v1')
      .map((p) => p.reference),
    ['v1'],
    'one index put: the first build',
  );
});

test('with two coordinators every platform runs once and the index is pushed once', async (t) => {
  const s = await setUp(t, { coordinators: 2 });
  await platformsConfig(s, 'twice', {
    Dockerfile: `FROM ${s.base}\nCOPY app.txt /app.txt\n`,
    'app.txt': `${unique()}\n`,
  });
  // Builds started through both coordinators at once: both drive every build.
  const started = await Promise.all(
    [0, 1, 0, 1].map((n) => s.sw.clientOf(n).startBuild({ namespace: 'default', configName: 'twice', ref: '' })),
  );
  const ended = await Promise.all(
    started.map((b) => s.sw.client.waitForBuild('default', b.metadata!.name, AbortSignal.timeout(240_000))),
  );
  for (const b of ended)
    t.is(b.status!.phase, 'Complete', `${b.metadata!.name}: ${b.status!.reason}: ${b.status!.message}`);

  const repo = s.repository.slice(s.registry.length + 1);
  const puts = s.manifestPuts().filter((p) => p.repository === repo);
  t.is(puts.filter((p) => p.reference === 'v1').length, ended.length, 'one index push per build');
  // Every platform of every build ran once: one attempt, one claim, one push of its manifest.
  for (const b of ended) {
    for (const p of b.status!.platforms) {
      const child = await s.sw.client.getBuild('default', p.build);
      t.is(child.status!.attempt, 1, p.build);
      t.is(child.status!.events.filter((e) => e.reason === 'Scheduled').length, 1, `${p.build} claimed once`);
    }
  }
  const platformPuts = puts.filter((p) => p.reference.startsWith('sha256:')).length;
  t.is(platformPuts, ended.length * PLATFORMS.length, 'each platform pushed once');
  const [amdDaemon, armDaemon] = [await agentDaemon(s.amd64), await agentDaemon(s.arm64)];
  for (const b of ended) {
    t.deepEqual(await builtOn(amdDaemon, `${b.metadata!.name}-linux-amd64`), ['amd64']);
    t.deepEqual(await builtOn(armDaemon, `${b.metadata!.name}-linux-arm64`), ['arm64']);
  }
});

test('a platform no agent can build waits NoMatchingAgent naming it; a cancel stops every platform; pendingDeadlineSeconds applies', async (t) => {
  const env = testEnvironment();
  const base = (await pushMultiPlatformBase(`${env.registry}/test/mp-base-${unique()}`)).reference;
  const sw = await startSlipway(t, { agents: 1 });
  const git = await startGitServer(t);
  const repo = await git.createRepo('nowhere', { Dockerfile: `FROM ${base}\nCOPY Dockerfile /Dockerfile\n` });
  const config = dockerBuildConfig('nowhere', repo.uri, `${env.registry}/test/mp-${unique()}:v1`);
  config.spec!.output!.platforms = ['linux/amd64', 'linux/s390x'];
  await sw.client.createBuildConfig(config);

  // No agent is s390x: its platform build waits, saying which platform; the parent says so too.
  const first = (await sw.client.startBuild({ namespace: 'default', configName: 'nowhere', ref: '' })).metadata!.name;
  let waiting: Build__Output | undefined;
  for await (const b of sw.client.watchBuild('default', first, AbortSignal.timeout(120_000))) {
    const amd = b.status!.platforms.find((p) => p.platform === 'linux/amd64');
    if (amd?.phase === 'Complete' && b.status!.reason === 'NoMatchingAgent') {
      waiting = b;
      break;
    }
  }
  t.truthy(waiting, 'amd64 completes while s390x waits');
  t.regex(
    waiting!.status!.message,
    /^platform linux\/s390x waits: no agent can build platform linux\/s390x natively: /,
  );
  const s390x = await sw.client.getBuild('default', `${first}-linux-s390x`);
  t.is(s390x.status!.phase, 'Pending');
  t.is(s390x.status!.reason, 'NoMatchingAgent');
  t.regex(s390x.status!.message, /kubernetes\.io\/arch=s390x/);

  // A cancel of the build of several ends it, and its waiting platform build with it.
  await sw.client.cancelBuild('default', first);
  const cancelled = await sw.client.waitForBuild('default', first, AbortSignal.timeout(30_000));
  t.is(cancelled.status!.phase, 'Cancelled');
  const s390xEnded = await sw.client.waitForBuild('default', `${first}-linux-s390x`, AbortSignal.timeout(30_000));
  t.is(s390xEnded.status!.phase, 'Cancelled');

  // With pendingDeadlineSeconds the waiting platform fails the build, named.
  config.spec!.pendingDeadlineSeconds = 2;
  const current = await sw.client.getBuildConfig('default', 'nowhere');
  await sw.client.updateBuildConfig({
    ...config,
    metadata: { ...config.metadata, resourceVersion: current.metadata!.resourceVersion },
  });
  const second = (await sw.client.startBuild({ namespace: 'default', configName: 'nowhere', ref: '' })).metadata!.name;
  const failed = await sw.client.waitForBuild('default', second, AbortSignal.timeout(120_000));
  t.is(failed.status!.phase, 'Failed');
  t.is(failed.status!.reason, 'NoMatchingAgent');
  t.regex(
    failed.status!.message,
    new RegExp(`^platform linux/s390x \\(build ${second}-linux-s390x\\) ended Failed \\(NoMatchingAgent\\)`),
  );
});

test('a build of several platforms whose coordinator stopped before making its platform builds is caught up', async (t) => {
  const s = await setUp(t);
  const repo = await s.git.createRepo('orphan', { Dockerfile: `FROM ${s.base}\nCOPY Dockerfile /Dockerfile\n` });
  // As a coordinator leaves it that stopped right after the parent's write: Running, its
  // platforms named, none of their builds made.
  const parent = fanOut(
    {
      metadata: {
        name: 'orphan-1',
        namespace: 'default',
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString(),
        generation: 1,
        labels: { 'slipway.dev/buildconfig': 'orphan' },
      },
      spec: {
        configName: 'orphan',
        configGeneration: 1,
        config: {
          source: { git: { uri: repo.uri, ref: 'main' } },
          strategy: { docker: {} },
          output: { image: `${s.repository}:v1`, platforms: PLATFORMS },
        },
      },
      status: { phase: 'New', attempt: 0 },
    },
    new Date(),
  )!;
  const nc = await connect({ servers: s.sw.natsUrl });
  t.teardown(() => nc.close());
  await (await new Kvm(nc).open(BUILDS_BUCKET)).create('default.orphan-1', JSON.stringify(parent));

  const ended = await s.sw.client.waitForBuild('default', 'orphan-1', AbortSignal.timeout(240_000));
  t.is(ended.status!.phase, 'Complete', `${ended.status!.reason}: ${ended.status!.message}`);
  t.deepEqual(
    ended.status!.platforms.map((p) => [p.build, p.phase]),
    [
      ['orphan-1-linux-amd64', 'Complete'],
      ['orphan-1-linux-arm64', 'Complete'],
    ],
  );
  t.is((await readIndex(`${s.repository}:v1`)).digest, ended.status!.output!.digest);
});

test("platform builds go with their parent: pruned by the config's history limit, deleted with it", async (t) => {
  const s = await setUp(t, { kubeApi: true });
  const repo = await s.git.createRepo('kept', { Dockerfile: `FROM ${s.base}\nCOPY Dockerfile /Dockerfile\n` });
  const config = dockerBuildConfig('kept', repo.uri, `${s.repository}:v1`);
  config.spec!.output!.platforms = PLATFORMS;
  config.spec!.successfulBuildsHistoryLimit = 1;
  await s.sw.client.createBuildConfig(config);
  const names = async () =>
    (await s.sw.client.listBuilds({ namespace: 'default' })).map((b) => b.metadata!.name).sort();

  t.is((await build(s, 'kept')).status!.phase, 'Complete');
  t.is((await build(s, 'kept')).status!.phase, 'Complete');
  // Two builds of the config counted, not six: the first goes, with its platform builds.
  await eventually('the first build pruned with its platform builds', async () => {
    const now = await names();
    return now.length === 3 && now;
  });
  t.deepEqual(await names(), ['kept-2', 'kept-2-linux-amd64', 'kept-2-linux-arm64']);

  // Deleted through the Kubernetes API (kubectl delete build kept-2).
  const deleted = await fetch(
    `http://${s.sw.coordinators[0]!.kubeApi!.address}/apis/build.slipway.dev/v1/namespaces/default/builds/kept-2`,
    { method: 'DELETE' },
  );
  t.is(deleted.status, 200);
  t.deepEqual(await names(), []);
});
