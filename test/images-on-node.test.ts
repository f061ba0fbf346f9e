import { randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import test from 'ava';
import { daemonHoldings } from './helpers/daemon-holdings.js';
import { eventually } from './helpers/eventually.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startPrivateDaemon } from './helpers/private-daemon.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';

// Issue #25: the dashboard's agents page showed 26.5 GiB "on the node" where the daemon held
// 1.2 GB. With the default thresholds (percentages of the filesystem the daemon stores on) the
// GC measures that filesystem's used blocks, and the heartbeat sent that: the whole disk.

test.serial(
  "the agents page's daemon figure is what the agent's daemon holds (system df), not the disk the daemon is on",
  async (t) => {
    t.timeout(120_000);
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0, coordinator: { httpListen: '127.0.0.1:0' } });
    const http = sw.coordinators[0]!.http!;
    const daemon = await startPrivateDaemon(t);
    const id = randomBytes(4).toString('hex');
    const repo = await git.createRepo('app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${id} > /app\n` });
    await sw.client.createBuildConfig(dockerBuildConfig('app', repo.uri, `${env.registry}/test/held-${id}:v1`));
    // The default thresholds (85% / 80% of the daemon's data root's filesystem); rounds on demand.
    const agent = await addAgent(t, sw, { settings: { dockerHost: daemon.dockerHost, gcIntervalMs: 3_600_000 } });
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    t.is((await sw.client.waitForBuild('default', 'app-1')).status!.phase, 'Complete');

    const round = await agent.collectGarbage();
    t.truthy(round, 'a GC round ran');
    const holds = (await daemonHoldings(daemon.docker)).bytes;
    const dataRoot = ((await daemon.docker.info()) as { DockerRootDir: string }).DockerRootDir;
    const fs = await statfs(dataRoot);
    const diskUsed = (fs.blocks - fs.bfree) * fs.bsize;
    t.true(holds > 0, 'the daemon holds the base image and the build');
    // What tells the two apart: the disk the daemon is on holds far more than the daemon.
    t.true(diskUsed > 2 * holds, `the disk's ${diskUsed} used bytes are far more than the daemon's ${holds}`);
    t.is(round!.daemonBytes, holds, 'the round measured what the daemon holds');

    type AgentItem = { agent: string; cache?: { imageBytes: number } };
    const mine = async () => {
      const res = await fetch(`${http.url}/api/v1/agents`);
      return ((await res.json()) as { items: AgentItem[] }).items.find((a) => a.agent === agent.config.name);
    };
    const item = await eventually(
      "the agent's next heartbeat to carry the round's figure",
      async () => {
        const a = await mine();
        return a?.cache?.imageBytes === holds ? a : undefined;
      },
      { timeoutMs: 15_000, detail: async () => ({ daemonHolds: holds, dashboard: await mine() }) },
    );
    t.is(item.cache!.imageBytes, holds);
    const page = await (await fetch(`${http.url}/ui/agents`)).text();
    t.regex(page, />Daemon holds</, "the column says it is the daemon's holdings");
  },
);
