import test from 'ava';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { silentLogger } from '../common/log.js';
import type { AgentRecord } from '../coordinator/agents/agent-registry.js';
import { AgentDirectory } from '../coordinator/placement/agent-directory.js';
import { bucketStream, JsonStore } from '../coordinator/store/json-store.js';
import { startNatsServer } from './helpers/nats-server.js';

// Placement keeps the live agents it worked out until the directory's version changes or the
// time `liveUntil` named passes (scheduler.ts): a wrong `until` would keep placing on an agent
// that fell silent. A real bucket and the directory's own watch.

function record(agent: string, at: number): AgentRecord {
  return {
    agent,
    node: `node-${agent}`,
    instance: 'i1',
    running: [],
    nodeLabels: {},
    cordoned: false,
    lastHeartbeat: new Date(at).toISOString(),
  } as AgentRecord;
}

test('liveUntil: the live agents, and the moment the first of them falls silent; each heartbeat moves the version', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const bucket = 'slipway_agents_test';
  const store = new JsonStore<AgentRecord>(await new Kvm(nc).create(bucket), 'Agent', bucketStream(nc, bucket));
  const directory = new AgentDirectory(store, { onChange: () => {}, prepare: () => Promise.resolve() }, silentLogger);
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  void directory.run(stop.signal);
  const grace = 3000;
  const t0 = Date.parse('2026-12-07T10:00:00Z');
  const seen = async (n: number) => {
    for (let i = 0; i < 100 && directory.version < n; i++) await new Promise((r) => setTimeout(r, 20));
    t.true(directory.version >= n, `the directory saw ${n} change(s)`);
  };

  t.deepEqual(directory.liveUntil(t0, grace), { agents: [], until: Infinity });
  const ra = await store.create('a', record('a', t0));
  await store.create('b', record('b', t0 + 1000));
  await seen(2);
  const names = (now: number) => directory.liveUntil(now, grace).agents.map((a) => a.agent);

  t.deepEqual(names(t0 + 500), ['a', 'b']);
  t.is(directory.liveUntil(t0 + 500, grace).until, t0 + grace + 1, 'a falls silent first');
  t.deepEqual(names(t0 + grace), ['a', 'b'], 'still live at exactly the grace');
  t.deepEqual(names(t0 + grace + 1), ['b'], 'silent from until on');
  t.is(directory.liveUntil(t0 + grace + 1, grace).until, t0 + 1000 + grace + 1);

  const before = directory.version;
  await store.update('a', record('a', t0 + 2000), ra);
  await seen(before + 1);
  t.deepEqual(names(t0 + grace + 1), ['a', 'b'], 'a heartbeat makes it live again, with a new version');
  t.deepEqual(names(t0 + 1000 + grace + 1), ['a']);
});
