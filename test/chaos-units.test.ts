import test from 'ava';
import { LABELS } from '../agent/build-runner.js';
import { chaosProblems, evaluateChaos, type ChaosObservations, type FinalBuild } from './helpers/chaos/checks.js';
import { mulberry32 } from './helpers/chaos/prng.js';
import { chaosSeed, shortFormReplayCommand } from './helpers/chaos/replay.js';
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

test('the printed replay command, run, gives the schedule that was printed', (t) => {
  const seed = chaosSeed({});
  const printed = formatSchedule(options(seed), chaosSchedule(options(seed)));
  // What a replay does: the command's variable, read back as the test reads it.
  const command = shortFormReplayCommand(seed);
  const assignment = command.match(/^(SLIPWAY_CHAOS_SEED)=(\d+) npm run bench -- --only chaos --builds 100$/);
  t.truthy(assignment, command);
  const replayed = chaosSeed({ [assignment![1]!]: assignment![2]! });
  t.is(replayed, seed);
  t.is(formatSchedule(options(replayed), chaosSchedule(options(replayed))), printed);
  t.true(printed.startsWith(`chaos seed ${seed}: `));
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
  for (const nodes of [1, 2])
    t.false(
      chaosSchedule(options(7, nodes)).some((s) => s.kind === 'nats'),
      `${nodes} node(s)`,
    );
  t.true(chaosSchedule(options(7, 3)).some((s) => s.kind === 'nats'));
});

test('mulberry32 is a fixed sequence (a replay on another machine gets the same numbers)', (t) => {
  const next = mulberry32(1);
  t.deepEqual(
    Array.from({ length: 3 }, () => next().toFixed(8)),
    ['0.62707394', '0.00273572', '0.52744704'],
  );
});

test('a seed to replay must be a 32-bit unsigned integer, and the error names the setting', (t) => {
  t.is(parseSeed('12345', 'SLIPWAY_CHAOS_SEED'), 12345);
  t.is(parseSeed('0x10', 'SLIPWAY_CHAOS_SEED'), 16);
  t.throws(() => parseSeed('abc', 'SLIPWAY_CHAOS_SEED'), {
    message: /SLIPWAY_CHAOS_SEED must be an integer from 0 to 4294967295, got "abc"/,
  });
  t.throws(() => parseSeed('4294967296', '--seed'), { message: /--seed must be/ });
});

test('memory is flat when the late peak stays within the bound, and grows when it does not', (t) => {
  const flat = memoryVerdict(
    [0, 10, 20, 30, 40].map((s) => ({ atMs: s * 1000, name: 'c', pid: 1, mib: 100 + (s % 20) })),
  );
  t.true(flat.flat);
  const leak = memoryVerdict(
    [0, 10, 20, 30, 40].map((s) => ({ atMs: s * 1000, name: 'c', pid: 1, mib: 100 + s * 10 })),
  );
  t.false(leak.flat);
  t.false(memoryVerdict([]).flat);
});

const tag = (build: string, attempt: number) => ({
  type: 'image',
  action: 'tag',
  attributes: { [LABELS.build]: build, [LABELS.attempt]: String(attempt) },
});
/** The run counter's figures: RUN step executions per config. */
const runs = (...configs: string[]) => {
  const m = new Map<string, number>();
  for (const c of configs) m.set(c, (m.get(c) ?? 0) + 1);
  return m;
};
const complete = (name: string, attempt: number): FinalBuild => ({
  name,
  config: name.replace(/-\d+$/, ''),
  phase: 'Complete',
  reason: '',
  message: '',
  attempt,
  digest: 'sha256:0',
  createdMs: 0,
  startedMs: 1000,
  completedMs: 2000,
});
const observe = (o: Partial<ChaosObservations>): ChaosObservations => ({
  builds: new Map(),
  events: [],
  runs: new Map(),
  agentLogs: [],
  leftovers: [],
  badImages: new Map(),
  deadlineSeconds: 60,
  agentGraceMs: 3000,
  leaseCheckMs: 2000,
  ...o,
});

test('the counters pass a clean run: a retried build whose lost attempt ran, one fenced report', (t) => {
  const f = evaluateChaos(
    observe({
      builds: new Map([
        ['c0-1', complete('c0-1', 1)],
        ['c1-1', complete('c1-1', 2)],
      ]),
      events: [tag('c0-1', 1), tag('c1-1', 1), tag('c1-1', 2)],
      runs: runs('c0', 'c1', 'c1'),
      agentLogs: [
        { msg: 'outcome accepted', build: 'default/c0-1', phase: 'Complete' },
        { msg: 'outcome refused: this attempt is no longer ours', build: 'default/c1-1', attempt: 1 },
        { msg: 'outcome accepted', build: 'default/c1-1', phase: 'Complete' },
      ],
    }),
  );
  t.deepEqual([f.lost, f.runTwice, f.notComplete, f.overDeadline], [[], [], [], []]);
  t.is(f.complete, 2);
  t.is(f.fencedReports, 1);
  t.is(f.retriedAttempts, 1);
  t.is(f.executions, 3);
  t.deepEqual(f.unobserved, []);
});

test('the counters catch an attempt run twice, more executions than attempts, two accepted results, a lost build', (t) => {
  const f = evaluateChaos(
    observe({
      builds: new Map<string, FinalBuild | undefined>([
        ['c0-1', complete('c0-1', 1)],
        ['c1-1', complete('c1-1', 1)],
        ['c2-1', complete('c2-1', 1)],
        ['c3-1', { ...complete('c3-1', 1), phase: 'Pending', completedMs: undefined }],
        ['c4-1', undefined],
        ['c5-1', { ...complete('c5-1', 1), completedMs: 1000 + 65_001 + 1000 }],
      ]),
      events: [tag('c0-1', 1), tag('c0-1', 1), tag('c1-1', 1), tag('c2-1', 1), tag('c5-1', 1)],
      runs: runs('c0', 'c0', 'c1', 'c1', 'c2', 'c5'),
      agentLogs: [
        { msg: 'outcome accepted', build: 'default/c2-1', phase: 'Complete' },
        { msg: 'outcome accepted', build: 'default/c2-1', phase: 'Failed' },
      ],
      leftovers: [{ daemon: 1, id: 'abcdef0123456789', build: 'c2-1' }],
    }),
  );
  t.deepEqual(f.runTwice, [
    'c0-1: attempt 1 finished 2 times; 2 executions for 1 attempt(s); its accepted attempt 1 finished 2 times on the daemons',
    'c1-1: 2 executions for 1 attempt(s)',
    'c2-1: 2 final results accepted',
  ]);
  t.deepEqual(f.lost, ['c3-1: Pending (attempt 1) ', 'c4-1: not found']);
  t.deepEqual(f.overDeadline, ['c5-1: ran 66001 ms, more than 65000 ms']);
  t.deepEqual(f.leftovers, ['daemon 1: container abcdef012345 of c2-1']);
  t.is(chaosProblems(f, { flat: true, latePeakMiB: 0, boundMiB: 0 }).length, 7);
});

test('the counters catch a Complete build whose RUN step the run counter never saw, and say so', (t) => {
  const f = evaluateChaos(
    observe({
      builds: new Map([
        ['c0-1', complete('c0-1', 1)],
        ['c1-1', complete('c1-1', 1)],
        ['c2-1', { ...complete('c2-1', 1), phase: 'Failed', reason: 'BuildStepFailed' }],
      ]),
      events: [tag('c0-1', 1), tag('c1-1', 1)],
      // c1's step reported under another key (a counter no step reached would leave it empty).
      runs: runs('c0', 'x1'),
      agentLogs: [],
    }),
  );
  t.deepEqual(f.unobserved, ['c1-1: Complete, but no execution of its RUN step reached the run counter']);
  t.deepEqual(f.runTwice, []);
  t.deepEqual(chaosProblems(f, { flat: true, latePeakMiB: 0, boundMiB: 0 }), [
    'not Complete: c2-1: Failed/BuildStepFailed after 1 attempt(s): ',
    'not counted: c1-1: Complete, but no execution of its RUN step reached the run counter',
  ]);
});
