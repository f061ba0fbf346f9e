import { runSoak, soakShape, type SoakReport } from '../test/helpers/soak/run-soak.js';
import { TeardownStack } from '../test/helpers/teardowns.js';
import type { BenchResult, Row } from './lib/report.js';
import { percentile } from './lib/stats.js';

/**
 * The soak's long form (issue #25, part 3): the short form's run (test/helpers/soak/run-soak.ts,
 * test/soak-short.test.ts) with 500 builds over 20 minutes by default. Run on demand, never by
 * default; needs root (loop devices, mounts):
 *   node dist/bench/run.js --only soak [--builds N] [--minutes M] [--seed S]
 *   node dist/bench/soak.js [--builds N] [--minutes M] [--seed S]   (after source .work/env.sh)
 */
export async function soakLongForm(o: {
  builds: number;
  minutes: number;
  seed?: number;
  say?: (line: string) => void;
}): Promise<BenchResult> {
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const stack = new TeardownStack();
  try {
    const r = await runSoak(stack, {
      ...soakShape({ builds: o.builds, startsPerSecond: o.builds / (o.minutes * 60) }),
      seed,
      say: o.say ?? ((line) => process.stderr.write(`${line}\n`)),
    });
    return { name: 'soak', rows: soakRows(r), data: { ...r, text: undefined }, problems: r.problems };
  } finally {
    await stack.run();
  }
}

function soakRows(r: SoakReport): Row[] {
  const m = (bytes: number) => `${Math.round(bytes / 2 ** 20)}`;
  const ends = Object.entries(r.outcomes.byKind)
    .map(([kind, e]) => `${kind} ${Object.values(e).reduce((a, b) => a + b, 0)}`)
    .join(', ');
  const collecting = r.rounds.filter((x) => x.usageBefore > x.high);
  const afterShare = collecting.map((x) => x.usageAfter / x.high);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows: Row[] = [
    { metric: 'seed (replay with --seed)', value: String(r.seed) },
    { metric: 'builds by kind', value: ends },
    {
      metric: 'out of space / ended otherwise than their kind / not ended',
      value: `${r.outcomes.outOfSpace.length} / ${r.outcomes.unexpected.length} / ${r.outcomes.unfinished.length}`,
      target: '0 / 0 / 0',
      met: r.outcomes.outOfSpace.length + r.outcomes.unexpected.length + r.outcomes.unfinished.length === 0,
    },
    {
      metric: 'Complete: created → Complete p50 / p99',
      value: `${s(percentile(r.outcomes.completeMs, 50))} / ${s(percentile(r.outcomes.completeMs, 99))}`,
    },
    { metric: 'builds per minute (started → all ended)', value: ((started(r) * 60_000) / r.elapsedMs).toFixed(1) },
    {
      metric: 'GC rounds that collected; ended above high',
      value: `${collecting.length}; ${collecting.filter((x) => x.usageAfter > x.high).length}`,
      target: '; 0',
      met: collecting.every((x) => x.usageAfter <= x.high),
    },
    {
      metric: 'collecting rounds: usage after / high, p50 / max',
      value: afterShare.length
        ? `${percentile(afterShare, 50).toFixed(2)} / ${Math.max(...afterShare).toFixed(2)}`
        : 'n/a',
    },
  ];
  for (const a of r.agents) {
    rows.push(
      {
        metric: `${a.name} (GC of the ${a.gcMode}): rounds periodic / after builds; images removed; MiB reclaimed`,
        value: `${a.gcRuns.periodic} / ${a.gcRuns.pressure}; ${a.imagesRemoved}; ${m(a.reclaimedBytes)}`,
      },
      {
        metric: `${a.name}: disk peak MiB of ${m(r.diskBytes)} (high ${m(r.highBytes)}); 1 s samples above high`,
        value: `${m(a.peakUsedBytes)}; ${a.samplesAboveHigh} of ${a.samples}`,
      },
      {
        metric: `${a.name} at the end, MiB: daemon holds / disk used / unaccounted / emptied daemon / after stop`,
        value: `${m(a.holdings.bytes)} / ${m(a.diskUsedBytes)} / ${m(a.unaccountedBytes)} / ${m(a.emptiedDaemonBytes)} / ${m(a.leftAfterStopBytes)}`,
      },
    );
  }
  for (const x of r.memory)
    rows.push({
      metric: `${x.name} RSS early / late peak`,
      value: `${x.verdict.earlyPeakMiB.toFixed(0)} / ${x.verdict.latePeakMiB.toFixed(0)} MiB`,
      target: `≤ ${x.verdict.boundMiB.toFixed(0)} MiB`,
      met: x.verdict.flat,
    });
  rows.push({
    metric: 'leaks and other problems',
    value: String(r.problems.length),
    target: '0',
    met: !r.problems.length,
  });
  return rows;
}

function started(r: SoakReport): number {
  return Object.values(r.outcomes.byKind).reduce((n, e) => n + Object.values(e).reduce((a, b) => a + b, 0), 0);
}

/** `--builds N` (500), `--minutes M` (20: the starts are spread over them) and `--seed S`. */
export function soakArgs(args: string[]): { builds: number; minutes: number; seed?: number } {
  const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const number = (name: string, fallback: number) => {
    const v = Number(value(name) ?? fallback);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got "${value(name)}"`);
    return v;
  };
  const seedText = value('--seed');
  const seed = seedText === undefined ? undefined : Number(seedText);
  if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${seedText}"`);
  return { builds: Math.round(number('--builds', 500)), minutes: number('--minutes', 20), seed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await soakLongForm(soakArgs(process.argv.slice(2)));
  for (const row of r.rows) console.log(`${row.metric.padEnd(90)} ${row.value}`);
  for (const p of r.problems) console.error(`PROBLEM: ${p}`);
  process.exit(r.problems.length > 0 ? 1 : 0);
}
