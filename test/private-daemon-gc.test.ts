import { randomBytes } from 'node:crypto';
import test from 'ava';
import type Docker from 'dockerode';
import type { Agent } from '../agent/agent.js';
import type { AgentConfig } from '../agent/config.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startPrivateDaemon } from './helpers/private-daemon.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { imageExists } from './helpers/docker.js';

// Issue #20: the chart's dind mode runs the host executor on a dockerd sidecar whose data lives
// in an emptyDir with a size limit. With SLIPWAY_DOCKER_PRIVATE the GC treats that daemon as
// Slipway's own (base images may go), and with SLIPWAY_GC_CAPACITY its percentage thresholds
// are of the volume's size, against what the daemon holds, not of the node's disk.

const unique = () => randomBytes(4).toString('hex');

/** GC rounds only when asked (`collectGarbage`), nothing too young to go, thresholds the chart's defaults. */
const GC_ON_DEMAND: Partial<AgentConfig> = {
  gcIntervalMs: 3_600_000,
  gcMinAgeMs: 0,
  gcHighThreshold: '85%',
  gcLowThreshold: '80%',
  // A volume far smaller than one busybox image: usage is always over the high threshold.
  gcCapacity: '1Ki',
};

async function buildCacheRecords(docker: Docker): Promise<number> {
  return ((await docker.df()) as { BuildCache?: unknown[] | null }).BuildCache?.length ?? 0;
}

test.serial(
  'on a private daemon the host executor uses, GC against a capacity takes base images and build cache; without the private flag it keeps images it did not make',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const daemon = await startPrivateDaemon(t);
    const id = unique();
    const image = `${env.registry}/test/private-gc-${id}:v1`;
    // A cache mount: BuildKit keeps it as build cache that no image's layers share.
    const repo = await git.createRepo('app', {
      Dockerfile: `FROM ${env.baseImage}\nRUN --mount=type=cache,target=/cache echo ${id} > /cache/seen && echo ${id} > /app\n`,
    });
    await sw.client.createBuildConfig(dockerBuildConfig('app', repo.uri, image));

    /** Builds on the daemon with GC off, so the base image, the output and the build cache stay. */
    const buildOnce = async (n: number) => {
      const builder = await addAgent(t, sw, { settings: { dockerHost: daemon.dockerHost } });
      await sw.client.startBuild({ namespace: 'default', configName: 'app' });
      t.is((await sw.client.waitForBuild('default', `app-${n}`)).status!.phase, 'Complete');
      await builder.stop();
      t.true(await imageExists(daemon.docker, env.baseImage), 'the build pulled its base image into the daemon');
      t.true(await imageExists(daemon.docker, image), "the build's image is on the daemon");
      t.true((await buildCacheRecords(daemon.docker)) > 0, 'the build left build cache');
    };
    const collect = async (settings: Partial<AgentConfig>) => {
      const agent: Agent = await addAgent(t, sw, {
        settings: { dockerHost: daemon.dockerHost, ...GC_ON_DEMAND, ...settings },
      });
      const round = await agent.collectGarbage();
      await agent.stop();
      t.truthy(round, 'a round ran');
      t.true(round!.usageBefore > round!.high, `usage ${round!.usageBefore} is over the high threshold ${round!.high}`);
      t.is(round!.high, 0.85 * 1024, 'the high threshold is 85% of the capacity');
    };

    await buildOnce(1);
    // The daemon taken for the node's shared one: only what builds made goes.
    await collect({});
    t.false(await imageExists(daemon.docker, image), "the build's labelled image goes");
    t.true(await imageExists(daemon.docker, env.baseImage), 'the base image no build labelled stays');
    // BuildKit's cache that went unused for the minimum age is pruned on a shared daemon too (as
    // before: its records cannot be told apart by who built them), so the next build makes more.

    await buildOnce(2);
    await collect({ dockerPrivate: true });
    t.false(await imageExists(daemon.docker, image), "the build's image goes");
    t.false(
      await imageExists(daemon.docker, env.baseImage),
      "the base image goes too: everything on a private daemon is Slipway's",
    );
    t.is(await buildCacheRecords(daemon.docker), 0, 'the build cache is pruned');
    t.deepEqual(
      ((await daemon.docker.listImages({ all: true })) as { RepoTags?: string[] }[]).map((i) => i.RepoTags),
      [],
      'no image is left on the daemon',
    );
  },
);
