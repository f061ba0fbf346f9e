import test, { type ExecutionContext } from 'ava';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Build, Versioned } from '../api/types.js';
import { Kvm } from '@nats-io/kv';
import {
  defaultJobStreamOptions,
  ensureAgentJobConsumer,
  ensureJobStream,
  listAgentJobConsumers,
  removeAgentJobConsumer,
} from '../common/nats/jobs.js';
import { agentConsumerName, agentSlotKey, JOBS_STREAM, SLOTS_BUCKET } from '../common/nats/names.js';
import { isNotFound } from '../common/nats/streams.js';
import { silentLogger } from '../common/log.js';
import { AgentRegistry } from '../coordinator/agents/agent-registry.js';
import {
  AgentRetention,
  type AgentConsumers,
  type AgentLeftover,
  type RetentionBuilds,
} from '../coordinator/agents/agent-retention.js';
import { natsSlotKeys } from '../coordinator/agents/agent-slot-keys.js';
import { AgentSlots, type SlotHolder } from '../coordinator/placement/agent-slots.js';
import { resolveCoordinatorConfig } from '../coordinator/config.js';
import { openStateStore } from '../coordinator/store/state-store.js';
import { eventually } from './helpers/eventually.js';
import { metricValue } from './helpers/metrics.js';
import { startNatsServer } from './helpers/nats-server.js';
import { addAgent, startSlipway } from './helpers/slipway.js';

// Issue #25: agents named after Pods get new names with every rollout; each name leaves a
// record in the agents bucket and a durable consumer on the jobs stream. A coordinator removes
// both once the agent has been silent longer than SLIPWAY_AGENT_RETENTION_MS.

const RETENTION_MS = 6000;

async function consumerExists(nc: Awaited<ReturnType<typeof connect>>, agent: string): Promise<boolean> {
  const jsm = await jetstreamManager(nc);
  return jsm.consumers.info(JOBS_STREAM, agentConsumerName(agent)).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    },
  );
}

test.serial(
  'an agent silent past the retention loses its record and job consumer, removed once across two coordinators; a live agent and one inside the retention stay; one that comes back gets its consumer again',
  async (t) => {
    // A returning agent whose consumer is never made again waits for it forever (in addAgent).
    t.timeout(120_000);
    const sw = await startSlipway(t, {
      coordinators: 2,
      agents: 0,
      coordinator: { httpListen: '127.0.0.1:0', agentRetentionMs: RETENTION_MS },
    });
    const nc = await connect({ servers: sw.natsUrl });
    t.teardown(() => nc.close());
    const store = sw.coordinators[0]!.store.agents;
    const live = await addAgent(t, sw);
    const gone = await addAgent(t, sw);
    const recent = await addAgent(t, sw);
    const kept = async (agent: string) =>
      (await store.getLatest(agent)) !== undefined && (await consumerExists(nc, agent));
    const forgotten = async (agent: string) =>
      (await store.getLatest(agent)) === undefined && !(await consumerExists(nc, agent));
    for (const a of [live, gone, recent]) await eventually(`${a.config.name}'s consumer`, () => kept(a.config.name));
    const removals = async () => {
      let sum = 0;
      for (const c of sw.coordinators) sum += (await metricValue(c.http!.address, 'slipway_agents_removed_total')) ?? 0;
      return sum;
    };
    t.is(await removals(), 0);

    await gone.stop();
    const stoppedAt = Date.now();
    await eventually(`${gone.config.name} to be forgotten`, () => forgotten(gone.config.name), { timeoutMs: 30_000 });
    t.true(Date.now() - stoppedAt > RETENTION_MS - 1000, 'not removed before the retention passed');
    await recent.stop();
    // Each coordinator sweeps every 1.5 s: a few sweeps while `recent` is inside the retention.
    await new Promise((r) => setTimeout(r, 3000));
    t.true(await kept(recent.config.name), 'an agent silent for less than the retention stays');
    t.true(await kept(live.config.name), 'a live agent stays');
    t.is(await removals(), 1, 'counted once, by the coordinator that removed it');

    await eventually(`${recent.config.name} to be forgotten`, () => forgotten(recent.config.name), {
      timeoutMs: 30_000,
    });
    t.true(await kept(live.config.name), 'the live agent still stays');
    await eventually('both removals counted', async () => (await removals()) === 2);
    let leftovers = 0;
    for (const c of sw.coordinators)
      leftovers += (await metricValue(c.http!.address, 'slipway_agent_leftovers_removed_total')) ?? 0;
    t.is(leftovers, 0, "a removal's own consumer and slot keys are not counted as leftovers");

    // The name is used again (an agent not gone for good after all): it gets its consumer back.
    await addAgent(t, sw, { settings: { name: gone.config.name } });
    await eventually(`${gone.config.name}'s consumer made again`, () => kept(gone.config.name));
  },
);

test('two coordinators sweeping at once remove a silent agent once; one inside the retention, or with a build placed on it or running there (known from the bucket before the cache has listed it), stays', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const store = await openStateStore(nc, { replicas: 1, history: 5 });
  await ensureJobStream(nc, defaultJobStreamOptions());
  const then = new Date('2026-01-01T00:00:00Z');
  const registry = new AgentRegistry(store.agents, () => then);
  for (const agent of ['idle', 'busy', 'placed']) {
    await registry.heartbeat({ agent, node: 'n', instance: 'i', running: [], nodeLabels: {}, cordoned: false });
    await ensureAgentJobConsumer(nc, agent);
  }
  // Written to the bucket: the retention reads it while its cache has not listed it all.
  const build = (name: string, status: Partial<Build['status']>) =>
    ({ metadata: { namespace: 'default', name }, status }) as unknown as Build;
  const busy = build('a-1', { phase: 'Running', agent: 'busy' });
  const placed = build('b-1', { phase: 'Pending', placement: { agent: 'placed', node: 'n', timestamp: '' } });
  const done = build('c-1', { phase: 'Complete', agent: 'idle' });
  for (const b of [busy, placed, done]) await store.builds.create(`default.${b.metadata.name}`, b);
  const cached = [busy, placed].map((b) => [`default.${b.metadata.name}`, { value: b, revision: 1 }] as const);
  const listed: RetentionBuilds = {
    cache: { listedAll: true, unfinishedBuilds: () => cached as [string, Versioned<Build>][] },
    store: store.builds,
  };
  const notListed: RetentionBuilds = { cache: { listedAll: false, unfinishedBuilds: () => [] }, store: store.builds };
  await openSlots(nc);
  let counted = 0;
  const coordinator = (builds: RetentionBuilds, retentionMs = 60_000) =>
    new AgentRetention(store.agents, builds, natsConsumers(nc), natsSlotKeys(nc), {
      retentionMs,
      slotHoldMs: 30_000,
      clock: () => new Date(then.getTime() + 60_001),
      observer: { agentRemoved: () => counted++ },
      log: silentLogger,
    });

  t.deepEqual(await coordinator(listed, 120_000).sweep(), [], 'none is due inside the retention');
  const removed = (
    await Promise.all([coordinator(listed).sweep(), coordinator(notListed).sweep(), coordinator(listed).sweep()])
  ).flat();
  t.deepEqual(removed, ['idle'], 'removed once');
  t.is(counted, 1);
  t.is(await store.agents.getLatest('idle'), undefined);
  t.false(await consumerExists(nc, 'idle'));
  for (const agent of ['busy', 'placed']) {
    t.truthy(await store.agents.getLatest(agent), `${agent}'s record stays`);
    t.true(await consumerExists(nc, agent), `${agent}'s consumer stays`);
  }
});

function natsConsumers(nc: Awaited<ReturnType<typeof connect>>): AgentConsumers {
  return {
    remove: (a) => removeAgentJobConsumer(nc, a),
    ensure: (a) => ensureAgentJobConsumer(nc, a),
    list: () => listAgentJobConsumers(nc),
  };
}

/** Makes the slots bucket as a coordinator does; @returns a writer of slot keys, as a placement takes them. */
async function openSlots(nc: Awaited<ReturnType<typeof connect>>) {
  await AgentSlots.open(nc, 1, () => undefined, { holdMs: 30_000, log: silentLogger });
  const kv = await new Kvm(nc).open(SLOTS_BUCKET);
  let placement = 0;
  return {
    take: (agent: string, slot: number) => {
      const holder: SlotHolder = {
        build: `default.b-${++placement}`,
        attempt: 1,
        placement: 1,
        at: new Date().toISOString(),
      };
      return kv.create(agentSlotKey(agent, slot), JSON.stringify(holder));
    },
    /** The slot keys stored, deletion markers included. */
    keys: async () => (await natsSlotKeys(nc).keys()).sort(),
  };
}

/** A store with the job stream and slots bucket, and agents heartbeating at `heartbeatAt`. */
async function retentionSetup(t: ExecutionContext) {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const store = await openStateStore(nc, { replicas: 1, history: 5 });
  await ensureJobStream(nc, defaultJobStreamOptions());
  const slots = await openSlots(nc);
  const agent = async (agent: string, heartbeatAt: number) => {
    await new AgentRegistry(store.agents, () => new Date(heartbeatAt)).heartbeat({
      agent,
      node: 'n',
      instance: 'i',
      running: [],
      nodeLabels: {},
      cordoned: false,
    });
    await ensureAgentJobConsumer(nc, agent);
  };
  const noBuilds: RetentionBuilds = { cache: { listedAll: true, unfinishedBuilds: () => [] }, store: store.builds };
  const counts = { agents: 0, consumer: 0, slot: 0 };
  const retention = (o: { retentionMs: number; slotHoldMs: number; clock: () => Date }) =>
    new AgentRetention(store.agents, noBuilds, natsConsumers(nc), natsSlotKeys(nc), {
      ...o,
      observer: {
        agentRemoved: () => counts.agents++,
        leftoverRemoved: (kind: AgentLeftover) => counts[kind]++,
      },
      log: silentLogger,
    });
  return { nc, store, slots, agent, counts, retention };
}

test("a gone agent's slot keys go with it; a live agent's stay, and so does a slot a placement took within the placement timeout (in flight), until a later sweep past the retention", async (t) => {
  const { nc, store, slots, agent, counts, retention } = await retentionSetup(t);
  const RETENTION = 60_000;
  const start = Date.now();
  await agent('gone', start - 2 * RETENTION);
  await agent('inflight', start - 2 * RETENTION);
  await agent('live', start);
  for (const [a, slot] of [
    ['gone', 0],
    ['gone', 1],
    ['live', 0],
    ['live', 1],
  ] as const)
    await slots.take(a, slot);
  await new Promise((r) => setTimeout(r, 1500));
  await slots.take('inflight', 0);
  let skewMs = 0;
  const sweeper = retention({ retentionMs: RETENTION, slotHoldMs: 1000, clock: () => new Date(Date.now() + skewMs) });

  t.deepEqual((await sweeper.sweep()).sort(), ['gone', 'inflight']);
  t.deepEqual(
    await slots.keys(),
    ['inflight/0', 'live/0', 'live/1'],
    "gone's slot keys, deletion markers included, are removed; the live agent's and the one in flight stay",
  );
  t.deepEqual(counts, { agents: 2, consumer: 0, slot: 0 });
  t.truthy(await store.agents.getLatest('live'));
  t.true(await consumerExists(nc, 'live'));

  await sweeper.sweep();
  t.deepEqual(await slots.keys(), ['inflight/0', 'live/0', 'live/1'], 'a leftover slot key stays within the retention');
  skewMs = RETENTION + 1000;
  await agent('live', Date.now() + skewMs);
  t.deepEqual(await sweeper.sweep(), []);
  t.deepEqual(await slots.keys(), ['live/0', 'live/1'], 'the slot left in flight goes past the retention');
  t.deepEqual(counts, { agents: 2, consumer: 0, slot: 1 });
});

test("a job consumer and slot keys left behind by a removal that stopped after the record are removed by a later sweep past the retention, once across two coordinators; a live agent's stay", async (t) => {
  const { nc, store, slots, agent, counts, retention } = await retentionSetup(t);
  const RETENTION = 60_000;
  let skewMs = 0;
  const clock = () => new Date(Date.now() + skewMs);
  await agent('left', Date.now());
  await agent('live', Date.now() + 10 * RETENTION);
  for (const [a, slot] of [
    ['left', 0],
    ['left', 1],
    ['live', 0],
  ] as const)
    await slots.take(a, slot);
  // The interrupted removal: the record went (at the revision read), the rest did not.
  const record = await store.agents.getLatest('left');
  await store.agents.delete('left', record!.revision);
  const sweepers = [0, 1].map(() => retention({ retentionMs: RETENTION, slotHoldMs: 1000, clock }));

  for (const s of sweepers) t.deepEqual(await s.sweep(), []);
  t.true(await consumerExists(nc, 'left'), 'a leftover consumer stays within the retention');
  t.deepEqual(await slots.keys(), ['left/0', 'left/1', 'live/0']);
  t.deepEqual(counts, { agents: 0, consumer: 0, slot: 0 });

  skewMs = RETENTION + 1000;
  t.deepEqual((await Promise.all(sweepers.map((s) => s.sweep()))).flat(), []);
  t.false(await consumerExists(nc, 'left'));
  t.deepEqual(await slots.keys(), ['live/0'], 'the leftover slot keys and their deletion markers are gone');
  t.deepEqual(counts, { agents: 0, consumer: 1, slot: 2 }, 'each counted once');
  t.truthy(await store.agents.getLatest('live'));
  t.true(await consumerExists(nc, 'live'));
});

test('SLIPWAY_AGENT_RETENTION_MS: 0 or longer than the grace period', (t) => {
  t.is(resolveCoordinatorConfig({}).agentRetentionMs, 24 * 3600_000);
  t.is(resolveCoordinatorConfig({ agentRetentionMs: 0 }).agentRetentionMs, 0);
  const err = t.throws(() => resolveCoordinatorConfig({ agentRetentionMs: 10_000, agentGraceMs: 15_000 }));
  t.regex(err!.message, /SLIPWAY_AGENT_RETENTION_MS.*must be 0 or longer than SLIPWAY_AGENT_GRACE_MS \(15000\)/);
  t.throws(() => resolveCoordinatorConfig({ agentRetentionMs: 500 }), { message: /SLIPWAY_AGENT_RETENTION_MS/ });
});
