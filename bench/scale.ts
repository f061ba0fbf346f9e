import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent } from '../agent/agent.js';
import { resolveAgentConfig } from '../agent/config.js';
import { BenchmarkNoopExecutor } from '../agent/executors/benchmark-noop-executor.js';
import { SlipwayClient } from '../cli/client.js';
import { silentLogger } from '../common/log.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { freePort } from '../test/helpers/ports.js';
import { tempDir } from '../test/helpers/processes.js';
import { startCoordinatorProcess } from '../test/helpers/service-processes.js';
import { TeardownStack } from '../test/helpers/teardowns.js';
import { hotSpots, type HotSpot } from './lib/cpu-profile.js';
import { ms, type BenchResult } from './lib/report.js';
import { summarize } from './lib/stats.js';

export interface ScaleOptions {
  agents: number;
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
 * Coordinator scale: one coordinator process, `agents` agents (in this process, on the
 * benchmark-only no-op executor) on one nats-server, `builds` builds started as fast as the
 * coordinator takes them. Measures builds/s completed, start latency (Running − created, from
 * the builds' own timestamps), the coordinator's RSS and NATS messages per build, and checks
 * that every build ran exactly once.
 */
export async function coordinatorScale(o: ScaleOptions): Promise<BenchResult> {
  const stack = new TeardownStack();
  try {
    const nats = await startNatsServer(stack, { monitor: true });
    const port = await freePort();
    const coordinator = await startCoordinatorProcess(stack, {
      natsUrl: nats.url,
      port,
      env: { SLIPWAY_LOG_LEVEL: 'warn', SLIPWAY_AGENT_GRACE_MS: '30000' },
      nodeArgs: o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : [],
    });
    const address = `127.0.0.1:${port}`;
    // ListBuilds is not paginated yet: the final list of every build needs more than 4 MiB.
    const clients = Array.from(
      { length: 4 },
      () => new SlipwayClient(address, 120_000, { 'grpc.max_receive_message_length': 256 * 2 ** 20 }),
    );
    stack.teardown(() => clients.forEach((c) => c.close()));
    const client = clients[0]!;

    const executor = new BenchmarkNoopExecutor();
    const work = await tempDir(stack, 'slipway-bench-agents-');
    const agents = await Promise.all(
      Array.from({ length: o.agents }, (_, i) =>
        Agent.start(
          resolveAgentConfig({
            natsServers: [nats.url],
            coordinators: [address],
            name: `bench-agent-${i}`,
            node: `bench-node-${i}`,
            concurrency: 2,
            workDir: work,
            heartbeatIntervalMs: 2000,
            gcIntervalMs: 0,
          }),
          { executor, log: silentLogger },
        ),
      ),
    );
    stack.teardown(() => Promise.all(agents.map((a) => a.stop(0))));

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
    const runs = executor.runtime.runs;
    /** Waits until `count` builds of the namespace are Complete (or a deadline passes); returns them all. */
    let rssBeforeListing: { now: number; peak: number } | undefined;
    const settle = async (namespace: string, count: number): Promise<Build__Output[]> => {
      const ran = () => [...runs.keys()].filter((k) => k.startsWith(`${namespace}/`)).length;
      for (const deadline = Date.now() + 600_000; ran() < count && Date.now() < deadline;) await sleep(200);
      // The coordinator's memory for running the builds, before the listing below (10,000
      // builds in one unpaginated answer) adds its own peak.
      rssBeforeListing ??= await memoryOf(coordinator.pid);
      let builds: Build__Output[] = [];
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(1000)) {
        builds = await client.listBuilds({ namespace });
        if (builds.filter((b) => b.status!.phase === 'Complete').length >= count) break;
      }
      return builds;
    };

    const varz = async () =>
      (await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { in_msgs: number; out_msgs: number };
    const before = await varz();
    const cpuBefore = await cpuSecondsOf(coordinator.pid);
    const natsCpuBefore = await cpuSecondsOf(nats.pid);
    const ownCpuBefore = process.cpuUsage();
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
    const after = await varz();
    const wallSeconds = (Date.now() - started) / 1000;
    const coordinatorCpu = (await cpuSecondsOf(coordinator.pid)) - cpuBefore;
    const natsCpu = (await cpuSecondsOf(nats.pid)) - natsCpuBefore;
    const own = process.cpuUsage(ownCpuBefore);
    const agentsCpu = (own.user + own.system) / 1e6;
    const cpuPerBuildMs = (coordinatorCpu * 1000) / o.builds;
    const cores = {
      coordinator: coordinatorCpu / wallSeconds,
      nats: natsCpu / wallSeconds,
      agentsAndClients: agentsCpu / wallSeconds,
    };
    const rssAfterListing = await memoryOf(coordinator.pid);
    const rss = rssBeforeListing!;

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
    const messagesIn = (after.in_msgs - before.in_msgs) / o.builds;
    const messagesOut = (after.out_msgs - before.out_msgs) / o.builds;

    coordinator.signal('SIGTERM');
    await coordinator.exited();
    let profile: HotSpot[] = [];
    if (o.cpuProfileDir) {
      const files = (await readdir(o.cpuProfileDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
      if (files.length > 0) profile = await hotSpots(path.join(o.cpuProfileDir, files.at(-1)!));
    }
    return {
      name: 'coordinator scale',
      rows: [
        {
          metric: `builds completed/s (${o.builds} builds, ${o.agents} agents)`,
          value: perSecond.toFixed(0),
          target: '≥ 500',
          met: perSecond >= 500,
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
          target: '< 250 ms',
          met: pacedLatency.p99 < 250,
        },
        {
          metric: 'coordinator RSS peak while building (before the final listing)',
          value: mib(rss.peak),
          target: '< 300 MiB',
          met: rss.peak < 300 * 2 ** 20,
        },
        {
          metric: 'coordinator RSS peak with the unpaginated ListBuilds of every build',
          value: mib(rssAfterListing.peak),
        },
        { metric: 'coordinator CPU per build', value: `${cpuPerBuildMs.toFixed(2)} ms` },
        {
          metric: 'cores busy: coordinator / nats-server / agents+clients',
          value: `${cores.coordinator.toFixed(2)} / ${cores.nats.toFixed(2)} / ${cores.agentsAndClients.toFixed(2)}`,
        },
        { metric: 'NATS messages per build (in / out)', value: `${messagesIn.toFixed(1)} / ${messagesOut.toFixed(1)}` },
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

/** Resident and peak resident memory of a process, in bytes, from /proc. */
async function memoryOf(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU time (user + system) a process has used, in seconds, from /proc (clock ticks of 1/100 s). */
async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at index 2; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msec));
}
