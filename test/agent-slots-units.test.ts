import test from 'ava';
import type { Build, Versioned } from '../api/types.js';
import { silentLogger } from '../common/log.js';
import { AgentSlots, type SlotHolder } from '../coordinator/placement/agent-slots.js';
import type { JsonStore } from '../coordinator/store/json-store.js';

// Whether a slot's holder still holds it, judged from its build's state as the build cache has it.

const HOLD_MS = 30_000;
const NOW = Date.parse('2026-12-06T12:00:00Z');
const holder: SlotHolder = { build: 'default.app-1', attempt: 1, placement: 2, at: new Date(NOW - 1000).toISOString() };
const old: SlotHolder = { ...holder, at: new Date(NOW - HOLD_MS - 1).toISOString() };

function status(s: Partial<Build['status']>): Versioned<Build> {
  return { value: { status: { phase: 'Pending', attempt: 1, ...s } } as Build, revision: 1 };
}

function slots(held: Versioned<Build> | undefined): AgentSlots {
  return new AgentSlots({} as JsonStore<SlotHolder>, () => held, { holdMs: HOLD_MS, log: silentLogger });
}

const placedOnA = { agent: 'a', node: 'n', timestamp: holder.at };

test('held while its placement is placed on the agent or running there', (t) => {
  t.false(slots(status({ placements: 2, placement: placedOnA })).isFree('a', holder, NOW));
  t.false(slots(status({ phase: 'Running', agent: 'a', placements: 2 })).isFree('a', holder, NOW));
});

test('free once the build is taken back, placed again, retried, or ended', (t) => {
  t.true(slots(status({ placements: 2 })).isFree('a', holder, NOW), 'taken back');
  t.true(slots(status({ placements: 3, placement: placedOnA })).isFree('a', holder, NOW), 'placed again');
  t.true(slots(status({ attempt: 2 })).isFree('a', holder, NOW), 'retried');
  const ended = slots(undefined);
  t.false(ended.isFree('a', holder, NOW), 'not held by the cache, and not seen to end: maybe not seen yet');
  ended.buildGone(holder.build, NOW);
  t.true(ended.isFree('a', holder, NOW), 'seen to end');
});

test('a placement not seen written holds its slot for holdMs, then not', (t) => {
  t.false(slots(status({ placements: 1 })).isFree('a', holder, NOW), 'its write in flight');
  t.true(slots(status({ placements: 1 })).isFree('a', old, NOW), 'its write never landed');
  t.false(slots(undefined).isFree('a', holder, NOW));
  t.true(slots(undefined).isFree('a', old, NOW));
  t.false(slots(status({ attempt: 0, phase: 'New' })).isFree('a', holder, NOW), 'the cache is behind');
});
