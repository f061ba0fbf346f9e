import test from 'ava';
import { connect } from '@nats-io/transport-node';
import type { Build, BuildPhase, Versioned } from '../api/types.js';
import { silentLogger } from '../common/log.js';
import { AgentSlots, type SlotHolder } from '../coordinator/placement/agent-slots.js';
import { startNatsServer } from './helpers/nats-server.js';

// Issue #25, part 4: under chaos, coordinators stopped placing for over a minute while every
// agent was idle. Each coordinator's view of the slots bucket was behind (its watch had missed
// changes, or it had just started and its build cache did not hold the builds that had ended):
// every compare-and-set on a slot failed against a revision it no longer had, or waited out the
// hold on slots whose builds had ended. A lost compare-and-set now reads the slot from the
// bucket's leader and judges it again, and a holder whose build the cache does not hold is
// judged from the stored build.
//
// Two AgentSlots on one real bucket, their watches not running: each sees only what it wrote,
// as a watch that missed everything would. The builds are given as the store holds them.

const HOLD_MS = 30_000;

function holder(build: string): SlotHolder {
  return { build: `default.${build}`, attempt: 1, placement: 1, at: new Date().toISOString() };
}

function build(phase: BuildPhase, agent?: string): Versioned<Build> {
  const status = { phase, attempt: 1, placements: 1, ...(agent ? { agent } : {}) };
  return { value: { metadata: {}, spec: {}, status } as unknown as Build, revision: 1 };
}

test('a slot this coordinator sees at an old revision is read again and taken when its holder has ended; held, it stays held', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  /** The builds as the store's leader holds them (neither coordinator's cache holds any). */
  const stored = new Map<string, Versioned<Build>>();
  const open = () =>
    AgentSlots.open(nc, 1, () => undefined, {
      holdMs: HOLD_MS,
      readBuild: (key) => Promise.resolve(stored.get(key)),
      log: silentLogger,
    });
  const a = await open();
  const b = await open();

  const first = await a.take('agent', 1, holder('b1'), Date.now());
  t.is(first?.slot, 0, 'A takes the only slot');
  stored.set('default.b1', build('Complete'));

  // B has never seen the slot: its create fails; the slot read again holds b1, which has ended.
  const second = await b.take('agent', 1, holder('b2'), Date.now());
  t.is(second?.slot, 0, 'B takes the slot over once it has read it: its holder ended');

  // A still sees b1's revision: its update fails; read again, the slot holds b2, still running.
  stored.set('default.b2', build('Running', 'agent'));
  t.is(await a.take('agent', 1, holder('b3'), Date.now()), undefined, 'held by a running build: not taken');

  // b2 ends: A takes the slot at the revision it read.
  stored.set('default.b2', build('Complete'));
  const third = await a.take('agent', 1, holder('b3'), Date.now());
  t.is(third?.slot, 0, 'A takes the slot over once b2 has ended');
});
