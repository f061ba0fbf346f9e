import test from 'ava';
import { SlipwayClient } from '../cli/client.js';
import { silentLogger } from '../common/log.js';
import { resolveCoordinatorConfig } from '../coordinator/config.js';
import { Coordinator } from '../coordinator/coordinator.js';
import { startNatsCluster } from './helpers/nats-cluster.js';
import { dockerBuildConfig, testCoordinatorSettings } from './helpers/slipway.js';

/** StartBuild, then reads at once, this many times. */
const ITERATIONS = 500;

test.serial(
  'on an R3 cluster, a build StartBuild made (or cancelled) is in the same coordinator’s GetBuild and ListBuilds right after, every time',
  async (t) => {
    // A follower of the Build bucket applies a write only when the leader tells it the write is
    // committed (with its next message), so right after a write it is often one behind; a
    // client connected to it has its direct gets answered by it (NATS prefers the local member
    // of a queue group). So: a coordinator connected to a follower alone.
    const cluster = await startNatsCluster(t, { nodes: 3 });
    const start = async (i: number, servers: string[]) => {
      const c = await Coordinator.start(
        resolveCoordinatorConfig({
          ...testCoordinatorSettings(),
          natsServers: servers,
          replicas: 3,
          grpcListen: '127.0.0.1:0',
          id: `coordinator-${i}`,
        }),
        { log: silentLogger },
      );
      t.teardown(() => c.stop(1000));
      const client = new SlipwayClient(c.address);
      t.teardown(() => client.close());
      return client;
    };
    const first = await start(0, cluster.urls);
    const leader = await cluster.streamLeader('KV_slipway_builds');
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const client = await start(1, [follower.url]);
    await first.createBuildConfig(dockerBuildConfig('ryw', 'git://127.0.0.1:1/none', '127.0.0.1:1/ryw:v1'));

    let missedGet = 0;
    let missedList = 0;
    let missedCancel = 0;
    const cancelMisses: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const started = await client.startBuild({ namespace: 'default', configName: 'ryw' });
      const name = started.metadata!.name;
      const revision = Number(started.metadata!.resourceVersion);
      try {
        const got = await client.getBuild('default', name);
        if (Number(got.metadata!.resourceVersion) < revision) missedGet++;
      } catch {
        missedGet++;
      }
      if (i % 5 === 0) {
        const cancelled = await client.cancelBuild('default', name);
        const got = await client.getBuild('default', name);
        if (
          got.status!.phase !== 'Cancelled' ||
          Number(got.metadata!.resourceVersion) < Number(cancelled.metadata!.resourceVersion)
        ) {
          missedCancel++;
          cancelMisses.push(
            `${name}: CancelBuild answered ${cancelled.status!.phase} at ${cancelled.metadata!.resourceVersion}, ` +
              `GetBuild ${got.status!.phase} at ${got.metadata!.resourceVersion}`,
          );
        }
      }
      const listed = await client.listBuilds({ namespace: 'default', configName: 'ryw' });
      const mine = listed.find((b) => b.metadata!.name === name);
      if (!mine || Number(mine.metadata!.resourceVersion) < revision) missedList++;
    }
    t.log(`missed: GetBuild ${missedGet}, ListBuilds ${missedList} of ${ITERATIONS}; CancelBuild ${missedCancel}`);
    for (const miss of cancelMisses) t.log(miss);
    t.is(missedGet, 0, 'GetBuild shows the build StartBuild made, at its revision or later');
    t.is(missedList, 0, 'ListBuilds lists it, at its revision or later');
    t.is(missedCancel, 0, 'GetBuild right after CancelBuild shows the build Cancelled');
  },
);
