import test from 'ava';
import type { Build } from '../api/types.js';
import { AgentLeases } from '../coordinator/agents/agent-leases.js';
import type { AgentRecord, AgentRegistry } from '../coordinator/agents/agent-registry.js';

const GRACE = 15_000;
const TICK = 1000;

/**
 * Leases over a fake registry (a map of records: the NATS-backed one is tested elsewhere) and a
 * clock the test moves; stall watching on, as the coordinator runs it.
 */
function setup() {
  const t0 = Date.UTC(2026, 11, 7);
  let now = t0;
  const records = new Map<string, AgentRecord>();
  const registry = { get: async (agent: string) => records.get(agent) } as unknown as AgentRegistry;
  const stalls: number[] = [];
  const leases = new AgentLeases(registry, GRACE, () => new Date(now), {
    tickMs: TICK,
    onStall: (late) => stalls.push(late),
  });
  return {
    leases,
    stalls,
    /** Moves the clock to `ms` after the start. */
    at: (ms: number) => void (now = t0 + ms),
    /** Ticks once a second from the clock's time to `ms`, as `run` does in a process that never stands still. */
    ticksUntil(ms: number) {
      while (now - t0 < ms) {
        now = Math.min(now + TICK, t0 + ms);
        leases.tick();
      }
    },
    heartbeatAt: (ms: number) =>
      records.set('agent-1', {
        agent: 'agent-1',
        node: 'node-1',
        instance: 'i1',
        running: [],
        nodeLabels: {},
        cordoned: false,
        lastHeartbeat: new Date(t0 + ms).toISOString(),
      }),
    running: {
      metadata: { name: 'b-1', namespace: 'default' },
      status: {
        phase: 'Running',
        agent: 'agent-1',
        claimId: 'agent-1/i1/1',
        startTimestamp: new Date(t0).toISOString(),
      },
    } as unknown as Build,
  };
}

test('an agent silent for longer than the grace is lost when the coordinator was running all along', async (t) => {
  const s = setup();
  s.heartbeatAt(2000);
  s.ticksUntil(20_000);
  t.regex((await s.leases.lost(s.running))?.message ?? '', /stopped heartbeating 18s ago/);
  t.deepEqual(s.stalls, []);
});

test('after the coordinator’s own process stood still, the grace starts again: its first lease check after the stall loses no agent', async (t) => {
  const s = setup();
  s.heartbeatAt(3000);
  s.ticksUntil(4000);
  // The process stands still from 4 s to 24 s (the agent's heartbeats wait unread on its
  // socket); the first thing to run after it is a lease check, before any tick.
  s.at(24_000);
  t.is(await s.leases.lost(s.running), undefined, 'not lost, though the last heartbeat it read is 21 s old');
  t.deepEqual(s.stalls, [19_000], 'the stall is told, 19 s past the tick that was due');
  // Still silent a whole grace after the stall, ticking normally: now it is lost.
  s.ticksUntil(24_000 + GRACE + 1000);
  t.regex((await s.leases.lost(s.running))?.message ?? '', /stopped heartbeating 37s ago/);
  t.is(s.stalls.length, 1);
});

test('ticks late by less than a third of the grace are not a stall', async (t) => {
  const s = setup();
  s.heartbeatAt(1000);
  for (let ms = 4000; ms <= 20_000; ms += 4000) {
    s.at(ms);
    s.leases.tick();
  }
  t.deepEqual(s.stalls, [], 'each tick 3 s late: a busy process, not a stalled one');
  t.regex((await s.leases.lost(s.running))?.message ?? '', /stopped heartbeating 19s ago/);
});

test('without stall watching (a clock driven by hand), a jump of the clock is silence like any other', async (t) => {
  const records = new Map<string, AgentRecord>();
  let now = 0;
  const leases = new AgentLeases(
    { get: async () => records.get('agent-1') } as unknown as AgentRegistry,
    GRACE,
    () => new Date(now),
  );
  records.set('agent-1', {
    agent: 'agent-1',
    node: 'n',
    instance: 'i1',
    running: [],
    nodeLabels: {},
    cordoned: false,
    lastHeartbeat: new Date(0).toISOString(),
  });
  now = 30_000;
  const lost = await leases.lost({
    metadata: { name: 'b-1', namespace: 'default' },
    status: { phase: 'Running', agent: 'agent-1', claimId: 'agent-1/i1/1', startTimestamp: new Date(0).toISOString() },
  } as unknown as Build);
  t.regex(lost?.message ?? '', /stopped heartbeating 30s ago/);
});
