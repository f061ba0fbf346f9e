import test from 'ava';
import { mulberry32 } from './helpers/chaos/prng.js';
import { chaosSchedule, formatSchedule, parseSeed, type ScheduleOptions } from './helpers/chaos/schedule.js';
import { memoryVerdict } from './helpers/chaos/rss.js';

const options = (seed: number, natsNodes = 3): ScheduleOptions => ({
  seed,
  durationMs: 120_000,
  topology: { coordinators: 2, agents: 3, natsNodes },
  agentGraceMs: 3000,
});

test('the same seed gives the same schedule, step for step, and prints it the same', (t) => {
  const a = chaosSchedule(options(1234));
  const b = chaosSchedule(options(1234));
  t.true(a.length > 10);
  t.deepEqual(a, b);
  t.is(formatSchedule(options(1234), a), formatSchedule(options(1234), b));
});

test('a different seed gives a different schedule', (t) => {
  const a = chaosSchedule(options(1234));
  for (const seed of [1235, 0, 0xffffffff, 99]) t.notDeepEqual(chaosSchedule(options(seed)), a, `seed ${seed}`);
});

test('the schedule uses every kind of fault, one at a time, every few seconds, and freezes past the lease', (t) => {
  const steps = chaosSchedule(options(42));
  t.deepEqual([...new Set(steps.map((s) => s.kind))].sort(), ['agent', 'coordinator', 'freeze', 'nats']);
  for (const [i, s] of steps.entries()) {
    t.true(s.atMs < 120_000);
    if (s.kind === 'freeze') t.true(s.downMs > 3000, `step ${i} freezes ${s.downMs} ms`);
    if (s.kind === 'coordinator') t.true(s.target >= 0 && s.target < 2);
    if (s.kind !== 'coordinator') t.true(s.target >= 0 && s.target < 3);
    // Sequential: the previous step has recovered, then a pause of a few seconds.
    const prev = steps[i - 1];
    if (prev) {
      const gap = s.atMs - (prev.atMs + prev.downMs);
      t.true(gap >= 1500 && gap <= 4000, `gap ${gap} ms before step ${i}`);
    }
  }
});

test('NATS nodes are never killed when that would take down half the cluster or more', (t) => {
  for (const nodes of [1, 2]) t.false(chaosSchedule(options(7, nodes)).some((s) => s.kind === 'nats'), `${nodes} node(s)`);
  t.true(chaosSchedule(options(7, 3)).some((s) => s.kind === 'nats'));
});

test('mulberry32 is a fixed sequence (a replay on another machine gets the same numbers)', (t) => {
  const next = mulberry32(1);
  t.deepEqual(Array.from({ length: 3 }, () => next().toFixed(8)), ['0.62707394', '0.00273572', '0.52744704']);
});

test('a seed to replay must be a 32-bit unsigned integer, and the error names the setting', (t) => {
  t.is(parseSeed('12345', 'SLIPWAY_CHAOS_SEED'), 12345);
  t.is(parseSeed('0x10', 'SLIPWAY_CHAOS_SEED'), 16);
  t.throws(() => parseSeed('abc', 'SLIPWAY_CHAOS_SEED'), { message: /SLIPWAY_CHAOS_SEED must be an integer from 0 to 4294967295, got "abc"/ });
  t.throws(() => parseSeed('4294967296', '--seed'), { message: /--seed must be/ });
});

test('memory is flat when the late peak stays within the bound, and grows when it does not', (t) => {
  const flat = memoryVerdict([0, 10, 20, 30, 40].map((s) => ({ atMs: s * 1000, name: 'c', pid: 1, mib: 100 + (s % 20) })));
  t.true(flat.flat);
  const leak = memoryVerdict([0, 10, 20, 30, 40].map((s) => ({ atMs: s * 1000, name: 'c', pid: 1, mib: 100 + s * 10 })));
  t.false(leak.flat);
  t.false(memoryVerdict([]).flat);
});
