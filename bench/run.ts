import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheAffinity } from './cache-affinity.js';
import { cacheEffect } from './cache-effect.js';
import { chaosArgs, chaosLongForm } from './chaos.js';
import { costGrowth } from './cost-growth.js';
import { listsBench } from './lists.js';
import { logThroughput } from './log-throughput.js';
import { overhead } from './overhead.js';
import { realisticBuild } from './realistic-build.js';
import { rootlessCost } from './rootless-cost.js';
import { table, type BenchResult } from './lib/report.js';
import { coordinatorScale } from './scale.js';
import { soakArgs, soakLongForm } from './soak.js';
import { startLatency } from './start-latency.js';

/**
 * Runs the benchmarks, prints a table and writes the results as JSON. Exits 1 when a build was
 * lost, duplicated or failed; a timing that misses its target never fails the run.
 *
 * usage: node dist/bench/run.js [--only overhead,realistic,latency,scale,growth,cache,affinity,logs,lists,rootless,chaos,soak] [--quick] [--profile]
 *   chaos (the chaos suite's long form, about half an hour) runs only when --only names it;
 *   its own options: --builds N (1,000; --quick: 100) and --seed S (replays a run's schedule).
 *   soak (builds on bounded disks under GC, about 25 minutes, root) also only when named; its
 *   options: --builds N (500; --quick: 36), --minutes M (20; --quick: 1.2), --seed S.
 *   rootless (rootful, remapped and rootless private daemons' build times, about 3 minutes;
 *   needs the user scripts/devenv makes) also only when named.
 */
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const only = args[args.indexOf('--only') + 1]?.split(',');
const quick = flag('quick');
/** Long runs that only run when `--only` names them. */
const ON_DEMAND = ['rootless', 'chaos', 'soak'];
const want = (name: string) => (!args.includes('--only') && !ON_DEMAND.includes(name)) || only?.includes(name);
const work = process.env.SLIPWAY_WORK ?? '.work';
const outDir = path.join(work, 'bench');
await mkdir(outDir, { recursive: true });

const benchmarks: [string, () => Promise<BenchResult>][] = [
  ['overhead', () => overhead({ runs: quick ? 3 : 10 })],
  [
    'realistic',
    () =>
      realisticBuild({
        rounds: quick ? 4 : 12,
        bumpEvery: quick ? 2 : 4,
        dependencies: quick ? 4 : 6,
        dependencyBytes: 2 * 1024 * 1024,
        downloadSeconds: 0.5,
      }),
  ],
  ['latency', () => startLatency({ samples: quick ? 50 : 1000, realSamples: quick ? 5 : 20 })],
  [
    'scale',
    async () =>
      coordinatorScale({
        agents: quick ? 20 : 200,
        agentProcesses: 2,
        agentNice: 10,
        builds: quick ? 500 : 10_000,
        configs: quick ? 10 : 100,
        inFlight: 64,
        paced: { builds: quick ? 300 : 3000, perSecond: quick ? 100 : 250 },
        cpuProfileDir: flag('profile') ? await mkdtemp(path.join(outDir, 'profile-')) : undefined,
      }),
  ],
  [
    'growth',
    async () =>
      costGrowth({
        waiting: quick ? 1000 : 10_000,
        samples: quick ? 50 : 300,
        configs: quick ? 10 : 50,
        inFlight: 64,
        settleTimeoutMs: quick ? 60_000 : 180_000,
        cpuProfileDir: flag('profile') ? await mkdtemp(path.join(outDir, 'profile-growth-')) : undefined,
      }),
  ],
  ['cache', () => cacheEffect({ trials: quick ? 2 : 5 })],
  ['affinity', () => cacheAffinity({ rebuilds: quick ? 4 : 10, agents: 3, blobBytes: 50_000_000, seed: 12 })],
  ['logs', () => logThroughput({ lines: quick ? 20_000 : 200_000 })],
  ['rootless', () => rootlessCost({ runs: quick ? 2 : 9, starts: quick ? 2 : 5 })],
  [
    'lists',
    () =>
      listsBench({
        builds: quick ? 1000 : 10_000,
        configs: quick ? 10 : 100,
        pageSize: 500,
        heapGrowingPercents: [25],
      }),
  ],
  [
    'chaos',
    () => chaosLongForm({ ...chaosArgs(args), ...(quick && !args.includes('--builds') ? { builds: 100 } : {}) }),
  ],
  [
    'soak',
    () =>
      soakLongForm({
        ...soakArgs(args),
        ...(quick && !args.includes('--builds') ? { builds: 36 } : {}),
        ...(quick && !args.includes('--minutes') ? { minutes: 1.2 } : {}),
      }),
  ],
];

const results: BenchResult[] = [];
for (const [name, bench] of benchmarks) {
  if (!want(name)) continue;
  process.stderr.write(`bench: ${name} ...\n`);
  const t0 = Date.now();
  try {
    const r = await bench();
    results.push(r);
    process.stderr.write(`bench: ${name} took ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  } catch (err) {
    results.push({
      name,
      rows: [{ metric: 'error', value: String((err as Error).message ?? err).split('\n')[0]! }],
      data: {},
      problems: [`${name} did not finish: ${String(err)}`],
    });
  }
}

console.log(table(results));
for (const r of results) {
  const profile = r.data.profile as { where: string; selfPercent: number }[] | undefined;
  if (!profile?.length) continue;
  console.log(`\ncoordinator CPU profile (${r.name}), top self time:`);
  for (const p of profile) console.log(`  ${p.selfPercent.toFixed(1).padStart(5)}%  ${p.where}`);
}
const file = path.join(outDir, `results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, JSON.stringify({ when: new Date().toISOString(), quick, results }, null, 2));
console.log(`\nresults: ${file}`);
const problems = results.flatMap((r) => r.problems);
for (const p of problems) console.error(`bench: PROBLEM: ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
