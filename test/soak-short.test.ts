import test from 'ava';
import { runSoak, soakShape } from './helpers/soak/run-soak.js';

// The soak of issue #25, short form (the long one: `node dist/bench/run.js --only soak`): real
// builds on 2 agents whose private daemons (dind, per agent) keep their data on 512 MiB ext4
// loop disks, GC thresholds set against those disks, a seeded mix of configs whose images do not
// all fit, with failures, deadlines and cancels. A new seed each run; SLIPWAY_SOAK_SEED replays one.
test('soak, short form: on bounded disks no build runs out of space, GC ends each round under its high threshold, nothing is left behind', async (t) => {
  t.timeout(8 * 60_000);
  const seed = Number(process.env.SLIPWAY_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
  // 36 builds at 0.5/s, about a minute and a half of builds; a high threshold of 45% (219 MiB,
  // low 30%) rather than the long form's 55%, so that GC must collect within so few builds.
  const shape = soakShape({ builds: 36, startsPerSecond: 0.5, highPercent: 45, lowPercent: 30 });
  const report = await runSoak(t, { ...shape, seed, say: (l) => t.log(l) });
  const replay = `replay: SLIPWAY_SOAK_SEED=${seed}`;
  t.deepEqual(report.problems, [], replay);
  t.deepEqual(report.outcomes.outOfSpace, [], 'no build failed for lack of space');
  t.deepEqual(report.outcomes.unexpected, [], 'every build ended as its kind must');
  // Which agent fills first depends on placement; that one did is what makes the run a test of GC.
  t.true(report.collectingRounds > 0, 'a disk filled past the high threshold: GC had to collect');
});
