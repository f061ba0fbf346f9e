import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { AgentConfig } from '../agent/config.js';
import { testEnvironment } from './helpers/environment.js';
import { eventually } from './helpers/eventually.js';
import { startGitServer } from './helpers/git-server.js';
import { startPrivateDaemon } from './helpers/private-daemon.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { imageExists } from './helpers/docker.js';

// Issue #25: an agent advertises the configs and images it holds warm, and placement sends a
// build to the agent holding its cache. Once image GC has taken them off the daemon, the agent
// must stop saying so, or builds keep going to it for a cache it no longer has.

const unique = () => randomBytes(4).toString('hex');

/** A private daemon (everything on it is Slipway's) far over its 1 KiB capacity: the round after each build removes everything. */
const COLLECT_EVERYTHING: Partial<AgentConfig> = {
  dockerPrivate: true,
  gcCapacity: '1Ki',
  gcHighThreshold: '85%',
  gcLowThreshold: '80%',
  gcMinAgeMs: 0,
  gcIntervalMs: 3_600_000,
};

test.serial(
  "after image GC removes a build's images, its agent no longer advertises them warm, and the config's next build is not placed there for its cache",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const [daemonA, daemonB] = await Promise.all([startPrivateDaemon(t), startPrivateDaemon(t)]);
    const id = unique();
    const appImage = `${env.registry}/test/warm-app-${id}:v1`;
    const keptImage = `${env.registry}/test/warm-kept-${id}:v1`;
    const app = await git.createRepo('app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo app-${id} > /app\n` });
    const kept = await git.createRepo('kept', { Dockerfile: `FROM ${env.baseImage}\nRUN echo kept-${id} > /kept\n` });
    await sw.client.createBuildConfig(dockerBuildConfig('app', app.uri, appImage));
    const keptConfig = dockerBuildConfig('kept', kept.uri, keptImage);
    keptConfig.spec!.nodeSelector = { gc: 'off' };
    await sw.client.createBuildConfig(keptConfig);
    const store = sw.coordinators[0]!.store.agents;
    const warmOf = async (agent: string) => (await store.get(agent))?.value.warm;

    // Agent A, alone, builds app; the round after the build takes everything off its daemon.
    const a = await addAgent(t, sw, { settings: { dockerHost: daemonA.dockerHost, ...COLLECT_EVERYTHING } });
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const first = await sw.client.waitForBuild('default', 'app-1');
    t.is(first.status!.phase, 'Complete', first.status!.message);
    t.is(first.status!.agent, a.config.name);
    await eventually(
      "GC to take app's images off A's daemon",
      async () => !(await imageExists(daemonA.docker, appImage)) && !(await imageExists(daemonA.docker, env.baseImage)),
    );

    // Agent B, GC off, builds kept: what stays on its daemon stays warm (the control).
    const b = await addAgent(t, sw, { settings: { dockerHost: daemonB.dockerHost, nodeLabels: { gc: 'off' } } });
    await sw.client.startBuild({ namespace: 'default', configName: 'kept' });
    t.is((await sw.client.waitForBuild('default', 'kept-1')).status!.phase, 'Complete');
    const warmB = await eventually('B to advertise kept warm', async () => {
      const w = await warmOf(b.config.name);
      return w?.configs.includes('default/kept') && w;
    });
    t.true(warmB.images.includes(env.baseImage), "B still holds kept's base image");
    t.true(warmB.images.includes(keptImage), "B still holds kept's output");

    // A no longer says it holds app's cache, its output or its base image (a heartbeat is 500 ms).
    let warmA: Awaited<ReturnType<typeof warmOf>>;
    await eventually(
      "A's heartbeat to stop advertising what GC removed",
      async () => {
        warmA = await warmOf(a.config.name);
        return (
          warmA !== undefined &&
          !warmA.configs.includes('default/app') &&
          !warmA.images.includes(appImage) &&
          !warmA.images.includes(env.baseImage)
        );
      },
      { timeoutMs: 10_000, detail: () => warmA },
    );

    // So app's next build is not placed on A for a cache A no longer has.
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const second = await sw.client.waitForBuild('default', 'app-2');
    t.is(second.status!.phase, 'Complete', second.status!.message);
    const placed = second.status!.events.find((e) => e.reason === 'Placed')!;
    t.regex(placed.message, /: least loaded of 2 matching agent\(s\)$/);
  },
);
