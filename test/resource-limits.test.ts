import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { overclaimingExecutor } from './helpers/overclaiming-executor.js';
import test from 'ava';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { testEnvironment } from './helpers/environment.js';
import { eventually } from './helpers/eventually.js';
import { startGitServer } from './helpers/git-server.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

/** The cgroups Slipway made for limited private daemons (v1 memory hierarchy, or v2). */
async function slipwayCgroups(): Promise<string[]> {
  const v1 = await readdir('/sys/fs/cgroup/memory').catch(() => undefined);
  return (v1 ?? (await readdir('/sys/fs/cgroup'))).filter((e) => e.startsWith('slipway-'));
}

test.serial(
  'dind: a build step that allocates past the memory limit fails OutOfMemory; under the limit it completes; no cgroup is left',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const dindRoot = `/tmp/sw-limits-${unique()}`;
    t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
    // Per-agent mode: a build with limits gets a daemon of its own all the same (the shared one
    // cannot hold BuildKit to one build's limits).
    await addAgent(t, sw, { concurrency: 2, settings: { executor: 'dind', dindMode: 'per-agent', dindRoot } });
    const before = await slipwayCgroups();
    // dd allocates its whole block: 200 MiB, well past 64 MiB.
    const repo = await git.createRepo('hungry', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} && dd if=/dev/zero of=/dev/null bs=200M count=1\n`,
    });
    for (const [name, memory] of [
      ['tight', '64Mi'],
      ['roomy', '512Mi'],
    ] as const) {
      const config = dockerBuildConfig(name, repo.uri, `${env.registry}/test/${name}-${unique()}:v1`, {
        noCache: true,
      });
      config.spec!.resources = { memory };
      await sw.client.createBuildConfig(config);
      await sw.client.startBuild({ namespace: 'default', configName: name });
    }
    const tight = await sw.client.waitForBuild('default', 'tight-1');
    t.is(tight.status!.phase, 'Failed');
    t.is(tight.status!.reason, 'OutOfMemory', tight.status!.message);
    t.is(tight.status!.exitCode, 137);
    t.regex(tight.status!.message, /memory limit of 64Mi/);
    const roomy = await sw.client.waitForBuild('default', 'roomy-1');
    t.is(roomy.status!.phase, 'Complete', roomy.status!.message);
    t.deepEqual(await slipwayCgroups(), before, "each limited daemon's cgroup is removed with it");
  },
);

test.serial(
  'host only: a Dockerfile build with resources waits NoMatchingAgent saying it needs the dind executor; a dind agent that joins takes it and it completes',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    // One agent on the node's shared daemon, whose BuildKit cannot hold a build to its limits.
    const sw = await startSlipway(t);
    const repo = await git.createRepo('limited', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()}\n` });
    const config = dockerBuildConfig('limited', repo.uri, `${env.registry}/test/limited-${unique()}:v1`);
    config.spec!.resources = { memory: '64Mi', cpu: '500m' };
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'limited' });
    let seen: Build__Output | undefined;
    const waiting = await eventually(
      'the build to wait NoMatchingAgent',
      async () => {
        seen = await sw.client.getBuild('default', 'limited-1');
        return seen.status!.reason === 'NoMatchingAgent' && seen;
      },
      { detail: () => seen?.status },
    );
    t.is(waiting.status!.phase, 'Pending');
    t.regex(
      waiting.status!.message,
      /^1 agent\(s\) match the build \(no nodeSelector\) but none can hold a Dockerfile build to its resources \(memory 64Mi, cpu 500m\): BuildKit on a shared Docker daemon ignores a build's limits; it needs an agent with the dind executor$/,
    );
    t.is(waiting.status!.placedAgent, '', 'not placed on the host agent');

    const dindRoot = `/tmp/sw-limits-${unique()}`;
    t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
    const dind = await addAgent(t, sw, { settings: { executor: 'dind', dindMode: 'per-agent', dindRoot } });
    const final = await sw.client.waitForBuild('default', 'limited-1');
    t.is(final.status!.phase, 'Complete', final.status!.message);
    t.is(final.status!.agent, dind.config.name);
    t.deepEqual(
      final.status!.events.filter((e) => e.reason === 'Placed').map((e) => e.message.split(' (')[0]),
      [`attempt 1 placed on agent ${dind.config.name}`],
      'placed once: on the dind agent, never on the host one',
    );
  },
);

test.serial(
  'backstop: an agent whose lease is not limited fails a Dockerfile build with resources ResourceLimitsUnsupported before it runs, whatever it advertised',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    // The node's daemon behind an executor that says it can limit builds: placement sends the
    // build there, and only the agent's own check (on the lease it got) stands in the way.
    await addAgent(t, sw, { executor: overclaimingExecutor(env.dockerHost, { limitsDockerfileBuilds: true }) });
    const repo = await git.createRepo('limited', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()}\n` });
    const config = dockerBuildConfig('limited', repo.uri, `${env.registry}/test/limited-${unique()}:v1`);
    config.spec!.resources = { memory: '64Mi', cpu: '500m' };
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'limited' });
    const final = await sw.client.waitForBuild('default', 'limited-1');
    t.is(final.status!.phase, 'Failed');
    t.is(final.status!.reason, 'ResourceLimitsUnsupported', final.status!.message);
    t.regex(final.status!.message, /spec\.resources \(memory 64Mi, cpu 500m\) cannot be enforced here/);
    t.regex(final.status!.message, /dind executor/);
    t.deepEqual(
      final.status!.stages.map((s) => s.name),
      [],
      'it failed before fetching anything',
    );
  },
);
