import test from 'ava';
import { runChaos } from './helpers/chaos/run-chaos.js';
import { CHAOS_SEED_ENV, chaosSeed } from './helpers/chaos/replay.js';

// The chaos suite's short form (issue #11), in the README's test command: 100 real builds on a
// 3-node NATS cluster (R3) with 2 coordinators and 3 agents on 3 private daemons, while a seeded
// schedule kill -9s coordinators, agents and NATS nodes and freezes agents past their lease.
// A new seed each run (printed with its replay command); SLIPWAY_CHAOS_SEED replays one.
test('chaos, short form: 100 builds under kill -9 and SIGSTOP; none lost, none run twice, memory flat', async (t) => {
  t.timeout(12 * 60_000);
  const seed = chaosSeed(process.env);
  const report = await runChaos(t, {
    seed,
    builds: 100,
    startsPerSecond: 1,
    agentGraceMs: 3000,
    deadlineSeconds: 60,
    retries: 5,
    concurrency: 2,
    replayCommand: (s) => `${CHAOS_SEED_ENV}=${s} bash scripts/test dist/test/chaos.test.js`,
    // Printed as it goes: a failing run's seed and schedule are on the screen even if it times out.
    say: (line) => console.log(line),
  });
  t.deepEqual(report.problems, [], `replay: ${CHAOS_SEED_ENV}=${seed} bash scripts/test dist/test/chaos.test.js`);
  t.is(report.figures.lost.length, 0);
  t.is(report.figures.runTwice.length, 0);
  t.is(report.figures.complete, 100);
  t.true(report.applied.length > 0, 'the schedule did something');
});
