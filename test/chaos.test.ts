import test from 'ava';
import { chaosSeed, shortFormReplayCommand } from './helpers/chaos/replay.js';
import { runChaos } from './helpers/chaos/run-chaos.js';

test('chaos, short form: 100 builds while coordinators, agents and NATS nodes are killed and agents frozen; none lost, none run twice', async (t) => {
  t.timeout(10 * 60_000);
  // SLIPWAY_CHAOS_SEED replays a run's schedule; without it each run draws a new seed (printed).
  const seed = chaosSeed(process.env);
  const report = await runChaos(t, {
    seed,
    builds: 100,
    startsPerSecond: 1.5,
    agentGraceMs: 3000,
    deadlineSeconds: 60,
    retries: 5,
    concurrency: 2,
    replayCommand: shortFormReplayCommand,
    // Printed as it goes (a failing run's schedule is on the screen even if the test times out).
    say: (line) => console.log(line),
  });
  t.deepEqual(report.problems, []);
  t.is(report.figures.lost.length, 0);
  t.is(report.figures.runTwice.length, 0);
  t.is(report.figures.complete, 100);
  t.true(report.applied.length > 0, 'the schedule did something');
});
