import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type Docker from 'dockerode';
import { DockerRuntime } from '../agent/container-runtime/docker-runtime.js';
import { BuildCacheGuard } from '../agent/gc/build-cache-guard.js';
import { ImageGarbageCollector } from '../agent/gc/image-gc.js';
import { ImagesInUse } from '../agent/gc/images-in-use.js';
import { silentLogger } from '../common/log.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { ALWAYS_COLLECT } from './helpers/gc.js';
import { startPrivateDaemon } from './helpers/private-daemon.js';
import { addAgent, dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';

// Issue #25. BuildKit reads a build's uploaded context (the request's tar body, readable once)
// into a cache record, lets go of it, and takes it again a moment later; a build-cache prune in
// between removes it, and the build fails "failed to read downloaded context: … context not
// found". The agent's builds hold a guard from before they send their context until BuildKit
// holds it, and its GC prunes only under that guard. Each test has a daemon of its own: pruning
// all of its build cache disturbs no one else's builds.

const unique = () => randomBytes(4).toString('hex');

/** BuildKit's records that are not an image's layers (those go with their image). */
/**
 * Starts one build of each config and waits for each to be Complete, while `step` runs again and
 * again (a prune, a GC round) until they have all ended.
 */
async function buildAllWhile(
  t: ExecutionContext,
  sw: Slipway,
  configs: string[],
  step: () => Promise<void>,
): Promise<void> {
  let building = true;
  const loop = (async () => {
    while (building) await step();
  })();
  try {
    for (const name of configs) await sw.client.startBuild({ namespace: 'default', configName: name });
    for (const name of configs) {
      const status = (await sw.client.waitForBuild('default', `${name}-1`)).status!;
      t.is(status.phase, 'Complete', `${name}-1: ${status.reason}: ${status.message}`);
    }
  } finally {
    building = false;
    await loop;
  }
}

async function buildCacheRecords(docker: Docker): Promise<number> {
  const df = (await docker.df()) as { BuildCache?: { Shared: boolean }[] | null };
  return (df.BuildCache ?? []).filter((r) => !r.Shared).length;
}

test('builds complete while BuildKit’s cache is pruned back to back, with no minimum age, under the agent’s guard', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t, { agents: 0 });
  const daemon = await startPrivateDaemon(t);
  const guard = new BuildCacheGuard();
  // The agent's own GC stays off: the loop below prunes as its rounds do (`pruneBuildCache`
  // with a minimum age of 0: every record no build holds), far more often than rounds would.
  await addAgent(t, sw, { concurrency: 3, settings: { dockerHost: daemon.dockerHost }, buildCache: guard });
  const id = unique();
  const repo = await git.createRepo('app', {
    Dockerfile: `FROM ${env.baseImage}\nCOPY . /src\nRUN echo ${id} > /app\n`,
    'README.md': `${id}\n`,
    // A context that takes a while to upload: BuildKit reports the context's step well before
    // it has read it all, so a guard let go at the first report would let prunes in too early.
    'data.txt': 'x'.repeat(32 << 20),
  });
  const configs = Array.from({ length: 8 }, (_, i) => `app${i}`);
  for (const name of configs) {
    await sw.client.createBuildConfig(dockerBuildConfig(name, repo.uri, `${env.registry}/test/gc-${id}-${name}:v1`));
  }

  const runtime = new DockerRuntime(daemon.dockerHost);
  let prunes = 0;
  await buildAllWhile(t, sw, configs, async () => {
    if ((await guard.whilePruning(() => runtime.pruneBuildCache({ unusedForMs: 0 }), 60_000)).ran) prunes++;
  });
  t.true(prunes > configs.length, `BuildKit's cache was pruned while the builds ran (${prunes} times)`);
});

test('builds complete and push while the agent’s own GC collects round after round, with no minimum age', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t, { agents: 0 });
  const daemon = await startPrivateDaemon(t);
  const agent = await addAgent(t, sw, {
    concurrency: 3,
    // The pinned base image keeps usage over the 1-byte threshold: every round prunes and
    // removes every image it may, the builds' outputs among them as soon as their builds end.
    settings: { ...ALWAYS_COLLECT, dockerHost: daemon.dockerHost, gcPinnedImages: [env.baseImage] },
  });
  const id = unique();
  const repo = await git.createRepo('app', {
    Dockerfile: `FROM ${env.baseImage}\nCOPY . /src\nRUN echo ${id} > /app\n`,
    'README.md': `${id}\n`,
  });
  // An image each: an output is tagged when its build ends, and must stay until it is pushed.
  const configs = Array.from({ length: 12 }, (_, i) => `app${i}`);
  for (const name of configs) {
    await sw.client.createBuildConfig(dockerBuildConfig(name, repo.uri, `${env.registry}/test/gc-${id}-${name}:v1`));
  }

  let pruningRounds = 0;
  await buildAllWhile(t, sw, configs, async () => {
    const round = await agent.collectGarbage();
    if (round && round.usageBefore > round.high) pruningRounds++;
  });
  t.true(pruningRounds >= configs.length, `GC collected while the builds ran (${pruningRounds} rounds)`);
});

test('a GC round waits for a build sending its context, and leaves BuildKit’s cache to a later round when the build takes too long', async (t) => {
  const env = testEnvironment();
  const daemon = await startPrivateDaemon(t);
  const runtime = new DockerRuntime(daemon.dockerHost);
  // Pinned, the base image keeps usage over the 1-byte threshold: every round would prune.
  await runtime.pullImage(env.baseImage, {});
  const context = await mkdtemp('/tmp/sw-gc-context-');
  t.teardown(() => rm(context, { recursive: true, force: true }));
  await writeFile(path.join(context, 'Dockerfile'), `FROM ${env.baseImage}\nRUN echo ${unique()} > /app\n`);
  for await (const event of runtime.buildImage({
    contextDir: context,
    dockerfile: 'Dockerfile',
    tag: `gc-guard-${unique()}:v1`,
    buildArgs: {},
    labels: {},
    noCache: false,
  })) {
    if (event.kind === 'error') t.fail(event.message);
  }
  t.true((await buildCacheRecords(daemon.docker)) > 0, 'the build left build cache');

  const guard = new BuildCacheGuard();
  const gc = new ImageGarbageCollector({
    policy: { high: { bytes: 1 }, low: { bytes: 0 }, minAgeMs: 0, pinned: [env.baseImage] },
    intervalMs: 3_600_000,
    target: () => ({ runtime, ownsDaemon: true }),
    images: new ImagesInUse(),
    isRunning: () => false,
    buildCache: guard,
    pruneWaitMs: 1000,
    log: silentLogger,
  });

  // A build about to send its context, for longer than the round waits.
  const release = await guard.holdContext();
  const skipped = await gc.collect('pressure');
  t.true(skipped!.buildCachePrunesSkipped >= 1, 'the round did not prune');
  t.true((await buildCacheRecords(daemon.docker)) > 0, 'the build cache is still there');

  // Held again, and let go within the wait: the round prunes once the build's context is held.
  release();
  const again = await guard.holdContext();
  setTimeout(again, 200);
  const pruned = await gc.collect('pressure');
  t.is(pruned!.buildCachePrunesSkipped, 0);
  t.is(await buildCacheRecords(daemon.docker), 0, 'the build cache is pruned');
});
