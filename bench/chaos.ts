import path from 'node:path';
import { runChaos, type ChaosOptions } from '../test/helpers/chaos/run-chaos.js';
import { parseSeed } from '../test/helpers/chaos/schedule.js';
import { chaosSeed } from '../test/helpers/chaos/replay.js';
import { TeardownStack } from '../test/helpers/teardowns.js';
import type { BenchResult } from './lib/report.js';

/**
 * The chaos suite's long form (issue #11): the chaos run (test/helpers/chaos/run-chaos.ts) with
 * 1,000 builds by default; `--builds 100` is the short form. Run on demand, never by default:
 *   npm run bench -- --only chaos [--builds N] [--seed S]
 *   node dist/bench/chaos.js [--builds N] [--seed S]      (after scripts/devenv up and env.sh)
 */
export async function chaosLongForm(o: {
  builds: number;
  seed?: number;
  say?: (line: string) => void;
}): Promise<BenchResult> {
  // --seed, else SLIPWAY_CHAOS_SEED (a printed replay command), else a new one.
  const seed = o.seed ?? chaosSeed(process.env);
  const options: ChaosOptions = {
    seed,
    builds: o.builds,
    // About what 3 agents on 2 cores complete under chaos, so the queue stays short and the
    // faults hit running builds rather than a backlog.
    startsPerSecond: 0.8,
    agentGraceMs: 3000,
    deadlineSeconds: 60,
    retries: 5,
    concurrency: 2,
    replayCommand: (s) => `npm run bench -- --only chaos --builds ${o.builds} --seed ${s}`,
    say: o.say ?? ((line) => process.stderr.write(`${line}\n`)),
    logDir: path.resolve(`.work/chaos-logs/${seed}`),
    keepLogs: true,
  };
  const stack = new TeardownStack();
  try {
    const r = await runChaos(stack, options);
    const f = r.figures;
    const p = (q: number) => {
      const sorted = [...f.timesToTerminalMs].sort((a, b) => a - b);
      return sorted.length
        ? `${(sorted[Math.min(sorted.length, Math.max(1, Math.ceil((q / 100) * sorted.length))) - 1]! / 1000).toFixed(1)} s`
        : 'n/a';
    };
    return {
      name: 'chaos',
      rows: [
        { metric: 'seed (replay with --seed)', value: String(seed) },
        { metric: 'builds / Complete', value: `${f.builds} / ${f.complete}` },
        { metric: 'lost', value: String(f.lost.length), target: '0', met: f.lost.length === 0 },
        { metric: 'run twice', value: String(f.runTwice.length), target: '0', met: f.runTwice.length === 0 },
        {
          metric: 'fenced late reports refused / attempts retried',
          value: `${f.fencedReports} / ${f.retriedAttempts}`,
        },
        { metric: 'placements taken back (agent gone, job lost or passed over)', value: String(f.placementsTakenBack) },
        { metric: 'time to terminal p50 / p99', value: `${p(50)} / ${p(99)}` },
        {
          metric: 'restarts: coordinator / agent / NATS node / agent frozen',
          value: `${r.restarts.coordinator} / ${r.restarts.agent} / ${r.restarts.nats} / ${r.restarts.freeze}`,
        },
        {
          metric: 'coordinator RSS early / late peak',
          value: `${r.memory.earlyPeakMiB.toFixed(0)} / ${r.memory.latePeakMiB.toFixed(0)} MiB`,
          target: `≤ ${r.memory.boundMiB.toFixed(0)} MiB`,
          met: r.memory.flat,
        },
      ],
      data: {
        seed,
        schedule: r.schedule,
        applied: r.applied,
        figures: r.figures,
        restarts: r.restarts,
        memory: r.memory,
        rss: r.rss,
      },
      problems: r.problems.map((p) => `chaos (seed ${seed}): ${p}`),
    };
  } finally {
    await stack.run();
  }
}

/** `--builds N` and `--seed S` from the command line. */
export function chaosArgs(args: string[]): { builds: number; seed?: number } {
  const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const builds = Number(value('--builds') ?? 1000);
  if (!Number.isInteger(builds) || builds < 1)
    throw new Error(`--builds must be a positive integer, got "${value('--builds')}"`);
  const seedText = value('--seed');
  return { builds, seed: seedText === undefined ? undefined : parseSeed(seedText, '--seed') };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await chaosLongForm(chaosArgs(process.argv.slice(2)));
  for (const row of r.rows) console.log(`${row.metric.padEnd(60)} ${row.value}`);
  for (const p of r.problems) console.error(`PROBLEM: ${p}`);
  process.exit(r.problems.length > 0 ? 1 : 0);
}
