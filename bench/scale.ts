import { SlipwayClient } from '../cli/client.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { tempDir } from '../test/helpers/processes.js';
import { TeardownStack } from '../test/helpers/teardowns.js';
import { startAgentProcesses } from './lib/agent-processes.js';
import { startBenchCoordinator } from './lib/bench-coordinator.js';
import { cpuSecondsOf, cpuSecondsOfAll, memoryOf, mib, sleep } from './lib/proc.js';
import { ms, type BenchResult } from './lib/report.js';
import { summarize } from './lib/stats.js';

export interface ScaleOptions {
  agents: number;
  /** Child processes the agents are spread over, so that they run off the benchmark's event loop. */
  agentProcesses: number;
  /** Their nice value (agent-processes.ts): above 0, the coordinator comes first for the CPU. */
  agentNice: number;
  builds: number;
  /** Builds are spread over this many configs (one config's build counter is one key). */
  configs: number;
  /** StartBuild calls in flight at once during the flood. */
  inFlight: number;
  /**
   * After the flood, builds started at a steady rate (open loop: one every 1/perSecond s,
   * whatever the answers): start latency at a load the coordinator keeps up with. Under the
   * flood it is only the length of the queue the flood made.
   */
  paced: { builds: number; perSecond: number };
  /** Where the coordinator's CPU profile goes; none when undefined. */
  cpuProfileDir?: string;
}

/**
 * Coordinator scale: one coordinator process, `agents` agents (on the benchmark-only no-op
 * executor, in `agentProcesses` child processes) on one nats-server, `builds` builds started as
 * fast as the coordinator takes them by this process's clients. Measures builds/s completed,
 * start latency (Running − created, from the builds' own timestamps), the coordinator's RSS, CPU
 * per build and NATS messages per build, the cores each process used, and checks that every build
 * ran exactly once over all the agent processes.
 */
export async function coordinatorScale(o: ScaleOptions): Promise<BenchResult> {
  const stack = new TeardownStack();
  try {
    const nats = await startNatsServer(stack, { monitor: true });
    const bench = await startBenchCoordinator(stack, nats.url, o.cpuProfileDir);
    const { process: coordinator, address } = bench;
    const clients = Array.from({ length: 4 }, () => new SlipwayClient(address, 120_000));
    stack.teardown(() => clients.forEach((c) => c.close()));
    const client = clients[0]!;

    const agents = await startAgentProcesses(stack, {
      natsUrl: nats.url,
      coordinator: address,
      agents: o.agents,
      processes: o.agentProcesses,
      nice: o.agentNice,
      concurrency: 2,
      workDir: await tempDir(stack, 'slipway-bench-agents-'),
      heartbeatIntervalMs: 2000,
    });

    for (const namespace of ['default', 'paced']) {
      for (let c = 0; c < o.configs; c++) {
        await client.createBuildConfig({
          metadata: { name: `cfg-${c}`, namespace },
          spec: {
            source: { dockerfile: 'FROM scratch\n' },
            strategy: { docker: {} },
            output: { image: `bench.invalid/scale/cfg-${c}:latest` },
          },
        });
      }
    }
    const varz = async () =>
      (await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { in_msgs: number; out_msgs: number };
    /** What each process has used so far, and the coordinator's memory. */
    const usage = async () => ({
      at: Date.now(),
      coordinator: await cpuSecondsOf(coordinator.pid),
      nats: await cpuSecondsOf(nats.pid),
      agents: await cpuSecondsOfAll(agents.pids),
      bench: process.cpuUsage(),
      varz: await varz(),
      rss: await memoryOf(coordinator.pid),
    });
    /**
     * Usage once the flood's builds have all run and the coordinator has gone quiet (under a
     * quarter of a core for 250 ms: their last reports handled), before the final listing, whose
     * CPU and memory are not a build's.
     */
    let ranAll: Awaited<ReturnType<typeof usage>> | undefined;
    const quiet = async () => {
      for (let deadline = Date.now() + 10_000, last = await cpuSecondsOf(coordinator.pid); Date.now() < deadline;) {
        await sleep(250);
        const now = await cpuSecondsOf(coordinator.pid);
        if (now - last < 0.0625) break;
        last = now;
      }
      return usage();
    };
    /** Waits until `count` builds of the namespace are Complete (or a deadline passes); returns them all. */
    const settle = async (namespace: string, count: number): Promise<Build__Output[]> => {
      const ran = () => agents.ran(namespace);
      for (const deadline = Date.now() + 600_000; ran() < count && Date.now() < deadline;) await sleep(200);
      // The coordinator's CPU and memory for running the builds, before the listing below (10,000
      // builds, a page of 500 a call) adds its own.
      ranAll ??= await quiet();
      let builds: Build__Output[] = [];
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(1000)) {
        builds = await client.listBuilds({ namespace });
        if (builds.filter((b) => b.status!.phase === 'Complete').length >= count) break;
      }
      return builds;
    };

    const before = await usage();
    const started = Date.now();
    let next = 0;
    const names: string[] = [];
    const starters = Array.from({ length: o.inFlight }, async (_, w) => {
      const c = clients[w % clients.length]!;
      for (let i = next++; i < o.builds; i = next++) {
        const b = await c.startBuild({ namespace: 'default', configName: `cfg-${i % o.configs}` });
        names.push(b.metadata!.name);
      }
    });
    await Promise.all(starters);
    const submittedMs = Date.now() - started;

    // Every build has run once on some agent; then wait for their outcomes to be recorded.
    const builds = await settle('default', o.builds);
    const after = ranAll!;
    const wallSeconds = (after.at - started) / 1000;
    const benchCpu = (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1e6;
    const cpuPerBuildMs = ((after.coordinator - before.coordinator) * 1000) / o.builds;
    const cores = {
      coordinator: (after.coordinator - before.coordinator) / wallSeconds,
      nats: (after.nats - before.nats) / wallSeconds,
      agents: (after.agents - before.agents) / wallSeconds,
      bench: benchCpu / wallSeconds,
    };
    const rssAfterListing = await memoryOf(coordinator.pid);
    const rss = after.rss;

    // The paced phase: one StartBuild every 1/perSecond s, not waiting for answers.
    const pacedNames: string[] = [];
    const pacedStarts: Promise<void>[] = [];
    const pacedFrom = performance.now();
    for (let i = 0; i < o.paced.builds; i++) {
      const due = pacedFrom + (i * 1000) / o.paced.perSecond;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const c = clients[i % clients.length]!;
      pacedStarts.push(
        c
          .startBuild({ namespace: 'paced', configName: `cfg-${i % o.configs}` })
          .then((b) => void pacedNames.push(b.metadata!.name)),
      );
    }
    await Promise.all(pacedStarts);
    const pacedBuilds = await settle('paced', o.paced.builds);

    const runs = await agents.runs();
    const problems: string[] = [];
    problems.push(
      ...exactlyOnce('default', builds, names, runs),
      ...exactlyOnce('paced', pacedBuilds, pacedNames, runs),
    );

    const time = (s: string | undefined) => (s ? new Date(s).getTime() : Number.NaN);
    const done = builds.filter((b) => b.status!.phase === 'Complete');
    const startLatencyOf = (bs: Build__Output[]) =>
      bs
        .filter((b) => b.status!.startTimestamp)
        .map((b) => time(b.status!.startTimestamp) - time(b.metadata!.creationTimestamp));
    const startLatency = startLatencyOf(done);
    const first = Math.min(...done.map((b) => time(b.metadata!.creationTimestamp)));
    const last = Math.max(...done.map((b) => time(b.status!.completionTimestamp)));
    const perSecond = (done.length / (last - first)) * 1000;
    const latency = summarize(startLatency);
    const pacedLatency = summarize(startLatencyOf(pacedBuilds));
    const messagesIn = (after.varz.in_msgs - before.varz.in_msgs) / o.builds;
    const messagesOut = (after.varz.out_msgs - before.varz.out_msgs) / o.builds;

    const profile = await bench.stop();
    return {
      name: 'coordinator scale',
      rows: [
        {
          metric: `builds completed/s (${o.builds} builds, ${o.agents} agents in ${o.agentProcesses} processes)`,
          value: perSecond.toFixed(0),
          target: '≥ 1,500',
          met: perSecond >= 1500,
        },
        {
          metric: `start latency under the flood (${o.inFlight} in flight) p50 / p99`,
          value: `${ms(latency.p50)} / ${ms(latency.p99)}`,
        },
        {
          metric: `start latency at ${o.paced.perSecond} builds/s offered (${o.paced.builds}) p50 / p95`,
          value: `${ms(pacedLatency.p50)} / ${ms(pacedLatency.p95)}`,
        },
        {
          metric: `start latency at ${o.paced.perSecond} builds/s offered p99`,
          value: ms(pacedLatency.p99),
          target: '≤ 100 ms',
          met: pacedLatency.p99 <= 100,
        },
        {
          metric: 'coordinator RSS peak while building (before the final listing)',
          value: mib(rss.peak),
          target: '< 300 MiB',
          met: rss.peak < 300 * 2 ** 20,
        },
        {
          metric: 'coordinator RSS peak listing every build (ListBuilds pages), added to the peak while building',
          value: `${mib(rssAfterListing.peak)}, +${mib(Math.max(0, rssAfterListing.peak - rss.peak))}`,
          target: '≤ +20 MiB',
          met: rssAfterListing.peak - rss.peak <= 20 * 2 ** 20,
        },
        {
          metric: 'coordinator CPU per build',
          value: `${cpuPerBuildMs.toFixed(2)} ms`,
          target: '≤ 0.5 ms',
          met: cpuPerBuildMs <= 0.5,
        },
        {
          metric: 'cores busy: coordinator / nats-server / agent processes / benchmark (clients)',
          value: [cores.coordinator, cores.nats, cores.agents, cores.bench].map((c) => c.toFixed(2)).join(' / '),
        },
        {
          metric: 'NATS messages per build (in / out)',
          value: `${messagesIn.toFixed(1)} / ${messagesOut.toFixed(1)}`,
          target: '≤ 10 / ≤ 10',
          met: messagesIn <= 10 && messagesOut <= 10,
        },
        {
          metric: 'lost or duplicated builds',
          value: String(problems.length === 0 ? 0 : problems.join('; ')),
          target: '0',
          met: problems.length === 0,
        },
      ],
      data: {
        options: o,
        submittedMs,
        perSecond,
        startLatency: latency,
        pacedStartLatency: pacedLatency,
        rss,
        rssAfterListing,
        cpuPerBuildMs,
        cores,
        messagesIn,
        messagesOut,
        profile,
      },
      problems,
    };
  } finally {
    await stack.run();
  }
}

/**
 * What must hold of a namespace's builds: every started build stored once and Complete, and its
 * first attempt run exactly once (`runs` counts runs by namespace/build/attempt).
 */
function exactlyOnce(
  namespace: string,
  builds: Build__Output[],
  started: string[],
  runs: Map<string, number>,
): string[] {
  const problems: string[] = [];
  const stored = new Set(builds.map((b) => b.metadata!.name));
  if (stored.size !== builds.length) problems.push(`${namespace}: ${builds.length - stored.size} builds listed twice`);
  const lost = started.filter((n) => !stored.has(n));
  if (lost.length > 0) problems.push(`${namespace}: ${lost.length} started builds not stored (e.g. ${lost[0]})`);
  const extra = builds.length - started.length;
  if (extra > 0) problems.push(`${namespace}: ${extra} more builds stored than were started`);
  const notComplete = builds.filter((b) => b.status!.phase !== 'Complete');
  if (notComplete.length > 0)
    problems.push(
      `${namespace}: ${notComplete.length} builds not Complete (e.g. ${notComplete[0]!.metadata!.name}: ${notComplete[0]!.status!.phase})`,
    );
  const mine = [...runs.entries()].filter(([k]) => k.startsWith(`${namespace}/`));
  const twice = mine.filter(([, n]) => n > 1);
  if (twice.length > 0)
    problems.push(`${namespace}: ${twice.length} build attempts ran more than once (e.g. ${twice[0]![0]})`);
  const retried = mine.filter(([k]) => !k.endsWith('/1'));
  if (retried.length > 0)
    problems.push(`${namespace}: ${retried.length} builds needed a second attempt (e.g. ${retried[0]![0]})`);
  const unstarted = started.filter((n) => !runs.has(`${namespace}/${n}/1`));
  if (unstarted.length > 0) problems.push(`${namespace}: ${unstarted.length} builds never ran (e.g. ${unstarted[0]})`);
  return problems;
}
