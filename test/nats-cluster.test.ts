import { randomBytes } from 'node:crypto';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { LABELS } from '../agent/build-runner.js';
import { SlipwayClient } from '../cli/client.js';
import { connectNats } from '../common/nats/connect.js';
import { isTerminal } from '../api/types.js';
import { bucketStream, JsonStore } from '../coordinator/store/json-store.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { environmentDocker, recordDaemonEvents, type DaemonEvent } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startNatsCluster, type NatsCluster } from './helpers/nats-cluster.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/processes.js';
import { registryDigest } from './helpers/registry.js';
import { startRunCounter, type RunCounter } from './helpers/run-counter.js';
import { startAgentProcess, startCoordinatorProcess, type ServiceProcess } from './helpers/service-processes.js';
import { dockerBuildConfig } from './helpers/slipway.js';
import { eventually } from './helpers/eventually.js';

const unique = () => randomBytes(4).toString('hex');

test.serial(
  'the cluster helper: an R3 bucket takes writes while its leader is kill -9ed, and the restarted node catches up',
  async (t) => {
    const cluster = await startNatsCluster(t, { nodes: 3 });
    const nc = await connectNats({ servers: cluster.urls, name: 'helper-check' });
    t.teardown(() => nc.close());
    const kv = await new Kvm(nc).create('helper_check', { replicas: 3 });
    t.is((await kv.status()).replicas, 3);
    await kv.put('a', '1');
    const leader = await cluster.streamLeader('KV_helper_check');
    t.truthy(leader);
    await leader!.kill();
    t.false(leader!.running);
    // A write during the election fails (no responders, a timeout) until a new leader is elected.
    const revision = await eventually(
      'a write once a new leader is elected',
      () => kv.put('b', '2').catch(() => undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    t.true(revision > 0);
    const next = await cluster.streamLeader('KV_helper_check');
    t.truthy(next);
    t.not(next!.name, leader!.name);
    await leader!.restart();
    await cluster.waitForMetaLeader();
    t.true(leader!.running);
    t.is((await kv.get('b'))?.string(), '2');
  },
);

/** Polls the build (through whichever coordinator answers) until it has ended. */
async function untilEnded(clients: SlipwayClient[], name: string, timeoutMs = 240_000): Promise<Build__Output> {
  let i = 0;
  let last: Build__Output | undefined;
  return eventually(
    `build ${name} to end`,
    async () => {
      last = await clients[i++ % clients.length]!.getBuild('default', name).catch(() => undefined);
      return last && isTerminal(last.status!.phase as never) && last;
    },
    { timeoutMs, intervalMs: 300, detail: () => last?.status?.phase },
  );
}

/** Per build, how many times the daemon tagged its image: exactly once when it ran once. */
function tagsPerBuild(events: DaemonEvent[], builds: string[]): [string, number][] {
  const tags = events.filter((e) => e.type === 'image' && e.action === 'tag');
  return builds.map((b) => [b, tags.filter((e) => e.attributes[LABELS.build] === b).length]);
}

async function untilRunning(clients: SlipwayClient[], names: string[], atLeast: number): Promise<void> {
  let phases: string[] = [];
  await eventually(
    `${atLeast} of ${names.join(', ')} Running (or all ended)`,
    async () => {
      phases = await Promise.all(
        names.map((n) =>
          clients[0]!
            .getBuild('default', n)
            .then((b) => b.status!.phase)
            .catch(() => ''),
        ),
      );
      return phases.filter((p) => p === 'Running').length >= atLeast || phases.every((p) => isTerminal(p as never));
    },
    { timeoutMs: 240_000, intervalMs: 200, detail: () => phases },
  );
}

interface Setup {
  coordinators: { process: ServiceProcess; id: string; client: SlipwayClient }[];
  agents: ServiceProcess[];
}

async function startServices(
  t: ExecutionContext,
  natsUrls: string[],
  o: { coordinators: number; agents: number; replicas: number },
): Promise<Setup> {
  const work = await tempDir(t, 'slipway-cluster-agents-');
  const ports = await Promise.all(Array.from({ length: o.coordinators }, () => freePort()));
  const coordinators = await Promise.all(
    ports.map(async (port, i) => {
      const id = `coordinator-${i}-${unique()}`;
      const process = await startCoordinatorProcess(t, {
        natsUrl: natsUrls.join(','),
        port,
        id,
        env: { SLIPWAY_NATS_REPLICAS: String(o.replicas) },
      });
      const client = new SlipwayClient(`127.0.0.1:${port}`);
      t.teardown(() => client.close());
      return { process, id, client };
    }),
  );
  const agents = await Promise.all(
    Array.from({ length: o.agents }, (_, i) => {
      const name = `agent-${i}-${unique()}`;
      // Every agent knows every coordinator and every NATS server.
      return startAgentProcess(t, {
        natsUrl: natsUrls.join(','),
        coordinator: ports.map((p) => `127.0.0.1:${p}`).join(','),
        name,
        workDir: path.join(work, name),
        env: { SLIPWAY_AGENT_CONCURRENCY: '2' },
      });
    }),
  );
  return { coordinators, agents };
}

async function createBuilds(t: ExecutionContext, clients: SlipwayClient[], count: number, sleepSeconds: number) {
  const env = testEnvironment();
  const git = await startGitServer(t);
  // One RUN step a build and no cache: every execution of a build reports itself once to the
  // counter (under its number) and tags once.
  const counter = await startRunCounter(t);
  const repo = await git.createRepo(`r-${unique()}`, {
    Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN ${counter.command('$N')} && echo build-$N && sleep ${sleepSeconds}\n`,
  });
  const repository = `test/cluster-${unique()}`;
  const configs = Array.from({ length: count }, (_, i) => `c${i}-${unique()}`);
  for (const [i, name] of configs.entries()) {
    await clients[0]!.createBuildConfig(
      dockerBuildConfig(name, repo.uri, `${testEnvironment().registry}/${repository}:b${i}`, {
        noCache: true,
        buildArgs: [{ name: 'N', value: String(i) }],
      }),
    );
  }
  return { repository, configs, builds: configs.map((c) => `${c}-1`), counter };
}

/** Per build (its number, as createBuilds passes it), how many times its RUN step ran: once when it ran once. */
function runsPerBuild(counter: RunCounter, builds: string[]): [string, number][] {
  const runs = counter.runs();
  return builds.map((b, i) => [b, runs.get(String(i)) ?? 0]);
}

async function streamReplicas(cluster: NatsCluster): Promise<Record<string, number>> {
  const nc = await connectNats({ servers: cluster.urls, name: `replicas-${unique()}` });
  try {
    const jsm = await jetstreamManager(nc);
    const out: Record<string, number> = {};
    for await (const s of jsm.streams.list()) out[s.config.name] = s.config.num_replicas;
    return out;
  } finally {
    await nc.close();
  }
}

test.serial(
  'on a 3-node cluster (R3), builds complete exactly once while the NATS node of a coordinator and the builds bucket leader are kill -9ed',
  async (t) => {
    const BUILDS = 8;
    const cluster = await startNatsCluster(t, { nodes: 3 });
    const { coordinators } = await startServices(t, cluster.urls, { coordinators: 2, agents: 2, replicas: 3 });
    const clients = coordinators.map((c) => c.client);

    // Every bucket, stream and object store the coordinator made has 3 replicas. A stream just
    // made may be missing from a listing answered by a server the meta leader has not told yet.
    const ASSETS = 8;
    let replicas: Record<string, number> = {};
    await eventually('every asset listed', async () => {
      replicas = await streamReplicas(cluster);
      return Object.keys(replicas).length >= ASSETS;
    });
    t.deepEqual(Object.keys(replicas).sort(), [
      'KV_slipway_agents',
      'KV_slipway_buildconfigs',
      'KV_slipway_builds',
      'KV_slipway_secrets',
      'KV_slipway_slots',
      'OBJ_slipway_contexts',
      'SLIPWAY_JOBS',
      'SLIPWAY_LOGS',
    ]);
    for (const [name, n] of Object.entries(replicas)) t.is(n, 3, name);

    const { repository, configs, builds, counter } = await createBuilds(t, clients, BUILDS, 4);
    const recording = await recordDaemonEvents(environmentDocker());
    await Promise.all(
      configs.map((c, i) => clients[i % clients.length]!.startBuild({ namespace: 'default', configName: c })),
    );

    // While builds run: kill -9 the node the first coordinator is connected to, bring it back,
    // then kill -9 the builds bucket's leader (never a majority down at once).
    await untilRunning(clients, builds, 2);
    const coordinatorNode = await cluster.nodeOfConnection(coordinators[0]!.id);
    t.truthy(coordinatorNode, 'the first coordinator is connected to a node');
    await coordinatorNode!.kill();
    t.log(`killed ${coordinatorNode!.name}, the node of ${coordinators[0]!.id}`);
    // The node stays down a while (the fault under test), not waiting for anything.
    await new Promise((r) => setTimeout(r, 3000));
    await coordinatorNode!.restart();
    await cluster.waitForMetaLeader();
    const leader = await cluster.streamLeader('KV_slipway_builds');
    t.truthy(leader, 'the builds bucket has a leader');
    await leader!.kill();
    t.log(`killed ${leader!.name}, the leader of KV_slipway_builds`);
    // The leader stays down a while (the fault under test), not waiting for anything.
    await new Promise((r) => setTimeout(r, 3000));
    await leader!.restart();

    const finals = await Promise.all(builds.map((b) => untilEnded(clients, b)));
    const events = await recording.stop();
    for (const b of finals)
      t.is(b.status!.phase, 'Complete', `${b.metadata!.name}: ${b.status!.reason} ${b.status!.message}`);
    for (const [i, b] of finals.entries())
      t.is(await registryDigest(repository, `b${i}`), b.status!.output?.digest, b.metadata!.name);
    // The agents' reports arrived whole: each build's log count is recorded.
    for (const b of finals) t.true(Number(b.status!.logLines ?? 0) > 0, `${b.metadata!.name} has its log line count`);
    // Exactly once, counted on the daemon and at the counter: one image tag and one RUN step per build.
    t.deepEqual(
      tagsPerBuild(events, builds),
      builds.map((b) => [b, 1]),
    );
    t.deepEqual(
      runsPerBuild(counter, builds),
      builds.map((b) => [b, 1]),
    );
  },
);

test.serial('an agent given two coordinators goes on with the other when one is kill -9ed mid-build', async (t) => {
  const BUILDS = 6;
  const nats = await startNatsServer(t);
  const { coordinators, agents } = await startServices(t, [nats.url], { coordinators: 2, agents: 1, replicas: 1 });
  const survivor = coordinators[1]!.client;
  const { repository, configs, builds, counter } = await createBuilds(t, [survivor], BUILDS, 3);
  const recording = await recordDaemonEvents(environmentDocker());
  await Promise.all(configs.map((c) => survivor.startBuild({ namespace: 'default', configName: c })));
  await untilRunning([survivor], builds, 2);
  coordinators[0]!.process.signal('SIGKILL');
  await coordinators[0]!.process.exited();

  const finals = await Promise.all(builds.map((b) => untilEnded([survivor], b)));
  const events = await recording.stop();
  for (const b of finals)
    t.is(b.status!.phase, 'Complete', `${b.metadata!.name}: ${b.status!.reason} ${b.status!.message}`);
  for (const [i, b] of finals.entries()) t.is(await registryDigest(repository, `b${i}`), b.status!.output?.digest);
  t.deepEqual(
    tagsPerBuild(events, builds),
    builds.map((b) => [b, 1]),
  );
  t.deepEqual(
    runsPerBuild(counter, builds),
    builds.map((b) => [b, 1]),
  );
  // The one agent ran them all and is still alive, its lease kept by the coordinator that lives.
  t.deepEqual(new Set(finals.map((b) => b.status!.agent)).size, 1);
  t.is(agents[0]!.logs().filter((l) => l.msg === 'agent stopped').length, 0);
});

test.serial(
  'a JsonStore watch on an R3 bucket sees every write once, in order, across kill -9 of its own node and of the bucket leader',
  async (t) => {
    const cluster = await startNatsCluster(t, { nodes: 3 });
    const connection = `watcher-${unique()}`;
    const nc = await connectNats({ servers: cluster.urls, name: connection });
    t.teardown(() => nc.close());
    const store = new JsonStore<{ n: number }>(
      await new Kvm(nc).create('watch_check', { replicas: 3, history: 5 }),
      'Check',
      bucketStream(nc, 'watch_check'),
    );
    const stop = new AbortController();
    t.teardown(() => stop.abort());
    const seen: number[] = [];
    const watching = (async () => {
      for await (const e of store.watch({ signal: stop.signal, retryMs: 200 })) if (e.value) seen.push(e.value.n);
    })();
    let written = 0;
    /** Writes the next value, trying again while the cluster has no leader for the bucket. */
    const write = async () => {
      const n = ++written;
      for (let tries = 0; ; tries++) {
        try {
          const current = await store.get(`k${n % 4}`);
          if (current) await store.update(`k${n % 4}`, { n }, current.revision);
          else await store.create(`k${n % 4}`, { n });
          return;
        } catch (err) {
          // A write whose answer was lost may have landed: the next try sees it and moves on.
          const landed = (await store.get(`k${n % 4}`).catch(() => undefined))?.value.n === n;
          if (landed) return;
          if (tries > 300) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    for (let i = 0; i < 10; i++) await write();
    for (const pick of [() => cluster.nodeOfConnection(connection), () => cluster.streamLeader('KV_watch_check')]) {
      const victim = await pick();
      t.truthy(victim);
      await victim!.kill();
      for (let i = 0; i < 10; i++) await write();
      await victim!.restart();
      for (let i = 0; i < 10; i++) await write();
    }
    // On a timeout, the comparison below shows which writes the watch missed.
    await eventually(`the watch to see all ${written} writes`, () => seen.length >= written, {
      timeoutMs: 60_000,
      intervalMs: 200,
      detail: () => seen.length,
    }).catch(() => {});
    stop.abort();
    await watching;
    t.deepEqual(
      seen,
      Array.from({ length: written }, (_, i) => i + 1),
    );
  },
);
