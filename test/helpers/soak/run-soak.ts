import { readdir } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { SlipwayClient } from '../../../cli/client.js';
import type { Build__Output } from '../../../proto/generated/slipway/v1/Build.js';
import { formatRss, memoryVerdict, sampleRss, type MemoryVerdict, type RssSample } from '../chaos/rss.js';
import { daemonHoldings, type DaemonHoldings } from '../daemon-holdings.js';
import { testEnvironment } from '../environment.js';
import { eventually } from '../eventually.js';
import { startGitServer } from '../git-server.js';
import { metricValue } from '../metrics.js';
import { startNatsServer } from '../nats-server.js';
import { freePort } from '../ports.js';
import { tempDir } from '../processes.js';
import { startAgentProcess, startCoordinatorProcess, type ServiceProcess } from '../service-processes.js';
import { dockerBuildConfig } from '../slipway.js';
import { processesRunning } from '../step-processes.js';
import type { Teardowns } from '../teardowns.js';
import { pushBaseImages } from './base-images.js';
import { mountBoundedDisk, type BoundedDisk } from './bounded-disk.js';
import { evaluateGcRounds, evaluateOutcomes, formatRound, type LoggedGcRound, type Outcomes } from './soak-checks.js';
import { soakConfigs, soakPlan, type BuildKind } from './soak-mix.js';

export interface SoakOptions {
  seed: number;
  builds: number;
  /** Builds started per second. */
  startsPerSecond: number;
  /** Agents, each with a private daemon (dind, per agent) on a bounded disk of its own. */
  agents: number;
  /** Builds each agent runs at once. */
  concurrency: number;
  /** Each disk's size. */
  diskMiB: number;
  /** GC thresholds, percentages of the disk. */
  highPercent: number;
  lowPercent: number;
  gcMinAgeMs: number;
  gcIntervalMs: number;
  /** The base images' sizes: every `fresh` config builds on one. */
  baseSizesMiB: number[];
  /** Where progress and the report go. */
  say: (line: string) => void;
}

/**
 * The soak's shape, the same in the short and the long form: 2 agents × 2 builds on 512 MiB
 * disks, GC from 55% down to 35%, images younger than 10 s kept, a periodic round every 5 s;
 * six base images of 16…56 MiB. The biggest build adds 70 MiB, so two at once above the high
 * threshold still fit (281 + 140 of 512 MiB): a build that runs out of space is GC's fault.
 */
export function soakShape(
  o: { builds: number; startsPerSecond: number } & Partial<Pick<SoakOptions, 'highPercent' | 'lowPercent'>>,
): Omit<SoakOptions, 'seed' | 'say'> {
  return {
    agents: 2,
    concurrency: 2,
    diskMiB: 512,
    highPercent: 55,
    lowPercent: 35,
    gcMinAgeMs: 10_000,
    gcIntervalMs: 5000,
    baseSizesMiB: [16, 24, 32, 40, 48, 56],
    ...o,
  };
}

/** How an agent's GC is told what its percentages are of: the two ways a bounded disk is given. */
type GcMode = 'filesystem' | 'capacity';

export interface AgentFigures {
  name: string;
  gcMode: GcMode;
  /** GC rounds by trigger, bytes reclaimed, images removed: the agent's own metrics at the end. */
  gcRuns: { periodic: number; pressure: number };
  reclaimedBytes: number;
  imagesRemoved: number;
  /** The disk's peak use (1 s samples) and how many samples were above the high threshold. */
  peakUsedBytes: number;
  samplesAboveHigh: number;
  samples: number;
  /** At the end, builds over: what the daemon holds, the disk's use beyond it and beyond "empty". */
  holdings: DaemonHoldings;
  diskUsedBytes: number;
  /** The disk's use minus the daemon's holdings minus the empty filesystem's: what no `system df` shows. */
  unaccountedBytes: number;
  /**
   * The disk's use, minus the empty filesystem's, once every image and all build cache were removed
   * through the daemon: its own metadata, and anything it lost track of.
   */
  emptiedDaemonBytes: number;
  /** The disk's use after the agent stopped, minus the empty filesystem's. */
  leftAfterStopBytes: number;
}

export interface SoakReport {
  seed: number;
  diskBytes: number;
  highBytes: number;
  outcomes: Outcomes;
  rounds: LoggedGcRound[];
  collectingRounds: number;
  agents: AgentFigures[];
  memory: { name: string; verdict: MemoryVerdict }[];
  rss: RssSample[];
  elapsedMs: number;
  /** Every reason the run failed; empty when it passed. Timings and memory are never among them. */
  problems: string[];
  text: string;
}

const OPEN_PHASES = ['New', 'Pending', 'Running'];
/** What an emptied daemon may keep on its disk: its databases and folders (about 1 MiB here). */
const EMPTIED_BOUND = 32 * 2 ** 20;

/**
 * The soak of issue #25: real NATS, a coordinator process and agent processes building on the
 * dind executor (a private daemon per agent) whose data roots sit on size-limited ext4 loop
 * disks, with GC thresholds set against those disks (one agent's through SLIPWAY_GC_FILESYSTEM,
 * the next one's through SLIPWAY_GC_CAPACITY), a seeded mix of configs whose images do not all
 * fit, with failures, deadlines and cancels. Returns the figures and every problem found.
 */
export async function runSoak(t: Teardowns, o: SoakOptions): Promise<SoakReport> {
  const env = testEnvironment();
  const t0 = Date.now();
  const run = `${o.seed.toString(16)}-${Date.now().toString(36)}`;
  const problems: string[] = [];

  // --- disks, servers, images, configs -----------------------------------------------------------
  const disks: BoundedDisk[] = [];
  for (let i = 0; i < o.agents; i++) disks.push(await mountBoundedDisk(t, { sizeMiB: o.diskMiB }));
  const diskBytes = disks[0]!.sizeBytes;
  const highBytes = (diskBytes * o.highPercent) / 100;
  const nats = await startNatsServer(t);
  const git = await startGitServer(t);
  const repository = `soak/${run}`;
  const bases = await pushBaseImages({
    registry: env.registry,
    busybox: env.baseImage,
    repository,
    sizesMiB: o.baseSizesMiB,
  });
  // A sleep no other process runs: a step the run stopped and that still runs is found by it.
  const sleep = `sleep ${60_000 + (o.seed % 40_000)}`;
  const configs = soakConfigs(
    bases.map((ref, i) => ({ ref, mib: o.baseSizesMiB[i]! })),
    sleep,
  );
  const biggest = Math.max(...configs.map((c) => c.footprintMiB));
  o.say(
    `soak ${run}: ${o.builds} builds at ${o.startsPerSecond.toFixed(2)}/s on ${o.agents} agents × ${o.concurrency}, ` +
      `disks of ${mib(diskBytes)} MiB, GC high ${o.highPercent}% (${mib(highBytes)} MiB) low ${o.lowPercent}%, ` +
      `min age ${o.gcMinAgeMs} ms; bases ${o.baseSizesMiB.join(', ')} MiB; the biggest build adds ${biggest} MiB ` +
      `(high + concurrency × that = ${(mib(highBytes) + o.concurrency * biggest).toFixed(0)} MiB of the disk)`,
  );

  const port = await freePort();
  const httpPort = await freePort();
  const coordinator = await startCoordinatorProcess(t, {
    natsUrl: nats.url,
    port,
    id: `soak-coordinator`,
    env: { SLIPWAY_HTTP_LISTEN: `127.0.0.1:${httpPort}`, SLIPWAY_LOG_LEVEL: 'warn' },
  });
  const work = await tempDir(t, 'slipway-soak-');
  const agents: { name: string; gcMode: GcMode; process: ServiceProcess; metrics: string; workDir: string }[] = [];
  for (const [i, disk] of disks.entries()) {
    const name = `soak-agent-${i}`;
    const gcMode: GcMode = i % 2 === 0 ? 'filesystem' : 'capacity';
    const metrics = `127.0.0.1:${await freePort()}`;
    const workDir = path.join(work, name);
    const proc = await startAgentProcess(t, {
      natsUrl: nats.url,
      coordinator: `127.0.0.1:${port}`,
      name,
      workDir,
      env: {
        SLIPWAY_EXECUTOR: 'dind',
        SLIPWAY_DIND_MODE: 'per-agent',
        SLIPWAY_DIND_ROOT: disk.mountPoint,
        SLIPWAY_AGENT_CONCURRENCY: String(o.concurrency),
        SLIPWAY_GC_INTERVAL_MS: String(o.gcIntervalMs),
        SLIPWAY_GC_MIN_AGE_MS: String(o.gcMinAgeMs),
        SLIPWAY_GC_HIGH_THRESHOLD: `${o.highPercent}%`,
        SLIPWAY_GC_LOW_THRESHOLD: `${o.lowPercent}%`,
        ...(gcMode === 'filesystem'
          ? { SLIPWAY_GC_FILESYSTEM: disk.mountPoint }
          : { SLIPWAY_GC_CAPACITY: String(disk.sizeBytes) }),
        SLIPWAY_METRICS_ADDR: metrics,
      },
    });
    agents.push({ name, gcMode, process: proc, metrics, workDir });
  }
  const client = new SlipwayClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  for (const c of configs) {
    const repo = await git.createRepo(c.name, { Dockerfile: c.dockerfile });
    const config = dockerBuildConfig(c.name, repo.uri, `${env.registry}/${repository}/${c.name}:latest`, {
      noCache: c.noCache,
    });
    config.spec!.completionDeadlineSeconds = c.completionDeadlineSeconds;
    await client.createBuildConfig(config);
  }

  // --- the run -----------------------------------------------------------------------------------
  const rss = sampleRss(
    () => [{ name: 'coordinator', pid: coordinator.pid }, ...agents.map((a) => ({ name: a.name, pid: a.process.pid }))],
    2000,
  );
  const diskSamples = disks.map(() => ({ peak: 0, above: 0, count: 0 }));
  const sampler = setInterval(() => {
    for (const [i, d] of disks.entries())
      void d.usedBytes().then((used) => {
        const s = diskSamples[i]!;
        s.peak = Math.max(s.peak, used);
        s.count++;
        if (used > highBytes) s.above++;
      });
  }, 1000);
  const plan = soakPlan(o.seed, configs, o.builds, o.startsPerSecond);
  const started = new Map<string, BuildKind>();
  const cancels: Promise<void>[] = [];
  const runStart = Date.now();
  for (const [i, p] of plan.entries()) {
    await new Promise((r) => setTimeout(r, Math.max(0, runStart + p.atMs - Date.now())));
    const build = await client.startBuild({ namespace: 'default', configName: p.config });
    const name = build.metadata!.name;
    started.set(name, p.kind);
    if (p.cancelAfterMs !== undefined)
      cancels.push(
        new Promise((r) => setTimeout(r, p.cancelAfterMs)).then(() =>
          client.cancelBuild('default', name).then(
            () => {},
            (err: Error) => void problems.push(`cancelling ${name} failed: ${err.message}`),
          ),
        ),
      );
    if ((i + 1) % 50 === 0) o.say(`soak: ${i + 1} of ${o.builds} builds started (${elapsed(runStart)})`);
  }
  await Promise.all(cancels);
  const waitUntil = Date.now() + 300_000;
  for (;;) {
    const open = await Promise.all(OPEN_PHASES.map((phase) => client.listBuilds({ namespace: 'default', phase })));
    if (open.every((l) => l.length === 0) || Date.now() > waitUntil) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const runMs = Date.now() - runStart;
  const finals: Build__Output[] = await client.listBuilds({ namespace: 'default' });
  clearInterval(sampler);
  const outcomes = evaluateOutcomes(started, finals);
  o.say(`soak: every build ended after ${elapsed(runStart)}`);

  // --- GC rounds, as the agents logged them --------------------------------------------------------
  const rounds: LoggedGcRound[] = agents.flatMap((a) =>
    a.process
      .logs()
      .filter((l) => l.msg === 'image garbage collection')
      .map((l) => ({ ...(l as unknown as LoggedGcRound), agent: a.name, time: String(l.time) })),
  );
  const gc = evaluateGcRounds(rounds);

  // --- the end, builds over: what is left on each daemon and disk ------------------------------------
  // A periodic round after the last build, so the figures below are what the GC left.
  await new Promise((r) => setTimeout(r, o.gcIntervalMs + 1000));
  const figures: AgentFigures[] = [];
  for (const [i, a] of agents.entries()) {
    const disk = disks[i]!;
    const daemons = (await disk.entries()).filter((e) => e.startsWith('sw-'));
    if (daemons.length !== 1) problems.push(`${a.name}: ${daemons.length} private daemon folders on its disk, not 1`);
    const docker = new Docker({ socketPath: path.join(disk.mountPoint, daemons[0] ?? 'none', 'docker.sock') });
    const holdings = await daemonHoldings(docker);
    const diskUsedBytes = await disk.usedBytes();
    if (holdings.containers > 0) problems.push(`${a.name}: ${holdings.containers} containers left on its daemon`);
    if (holdings.volumes > 0) problems.push(`${a.name}: ${holdings.volumes} volumes left on its daemon`);
    if (holdings.buildCacheInUse > 0)
      problems.push(`${a.name}: ${holdings.buildCacheInUse} build cache records still in use with no build running`);
    if (holdings.bytes > highBytes)
      problems.push(`${a.name}: its daemon holds ${mib(holdings.bytes)} MiB after GC, above the high threshold`);
    const folders = await readdir(a.workDir).catch(() => [] as string[]);
    if (folders.length > 0) problems.push(`${a.name}: build folders left in its work dir: ${folders.join(', ')}`);
    // The dashboard's "Daemon holds": the agent's heartbeat after its last round, against system df.
    await eventually(`${a.name}'s heartbeat to say what its daemon holds`, async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/agents`);
      const items = ((await res.json()) as { items: { agent: string; cache?: { imageBytes: number } }[] }).items;
      return items.find((x) => x.agent === a.name)?.cache?.imageBytes === holdings.bytes;
    }).catch((err: Error) => void problems.push(`dashboard: ${err.message} (${mib(holdings.bytes)} MiB)`));
    const value = (name: string, labels: Record<string, string> = {}) =>
      metricValue(a.metrics, name, labels).then((v) => v ?? 0);
    figures.push({
      name: a.name,
      gcMode: a.gcMode,
      gcRuns: {
        periodic: await value('slipway_agent_gc_runs_total', { trigger: 'periodic' }),
        pressure: await value('slipway_agent_gc_runs_total', { trigger: 'pressure' }),
      },
      reclaimedBytes: await value('slipway_agent_gc_reclaimed_bytes_total'),
      imagesRemoved: await value('slipway_agent_gc_images_removed_total'),
      peakUsedBytes: diskSamples[i]!.peak,
      samplesAboveHigh: diskSamples[i]!.above,
      samples: diskSamples[i]!.count,
      holdings,
      diskUsedBytes,
      unaccountedBytes: diskUsedBytes - holdings.bytes - disk.emptyUsedBytes,
      emptiedDaemonBytes: 0,
      leftAfterStopBytes: 0,
    });
    // All the daemon holds must be the daemon's to give back: empty it, and see what stays.
    await emptyDaemon(docker);
    figures.at(-1)!.emptiedDaemonBytes = (await disk.usedBytes()) - disk.emptyUsedBytes;
    if (figures.at(-1)!.emptiedDaemonBytes > EMPTIED_BOUND)
      problems.push(
        `${a.name}: ${mib(figures.at(-1)!.emptiedDaemonBytes)} MiB stay on its disk with no image and no cache: leaked`,
      );
    const left = await daemonHoldings(docker);
    if (left.images + left.buildCacheRecords > 0)
      problems.push(`${a.name}: ${left.images} images and ${left.buildCacheRecords} cache records would not go`);
  }
  const leftSteps = await processesRunning(sleep.split(' '));
  if (leftSteps.length > 0) problems.push(`steps still running "${sleep}" after their builds ended: pids ${leftSteps}`);

  // --- stopping: nothing of a daemon may be left -----------------------------------------------------
  const samples = rss.stop();
  for (const a of agents) {
    a.process.signal('SIGTERM');
    await a.process.exited();
  }
  for (const [i, disk] of disks.entries()) {
    const name = agents[i]!.name;
    const entries = await disk.entries();
    const mounts = await disk.mountsBelow();
    figures[i]!.leftAfterStopBytes = (await disk.usedBytes()) - disk.emptyUsedBytes;
    if (entries.length > 0) problems.push(`${name}: left on its disk after it stopped: ${entries.join(', ')}`);
    if (mounts.length > 0) problems.push(`${name}: mounts left on its disk after it stopped: ${mounts.join(', ')}`);
    if (figures[i]!.leftAfterStopBytes > 2 ** 20)
      problems.push(`${name}: ${mib(figures[i]!.leftAfterStopBytes)} MiB used on its disk after it stopped`);
    const attached = await disk.release();
    if (attached.length > 0) problems.push(`${name}'s disk: loop devices still attached: ${attached.join('; ')}`);
  }
  coordinator.signal('SIGTERM');
  await coordinator.exited();

  // --- the verdict ---------------------------------------------------------------------------------
  problems.push(
    ...outcomes.outOfSpace.map((b) => `out of space: ${b}`),
    ...outcomes.unexpected.filter((b) => !outcomes.outOfSpace.includes(b)).map((b) => `unexpected end: ${b}`),
    ...outcomes.unfinished.map((b) => `not ended: ${b}`),
    ...gc.endedAboveHigh.map((r) => `GC round ended above the high threshold: ${formatRound(r)}`),
  );
  const names = ['coordinator', ...agents.map((a) => a.name)];
  const memory = names.map((name) => ({ name, verdict: memoryVerdict(samples.filter((s) => s.name === name)) }));
  const report: SoakReport = {
    seed: o.seed,
    diskBytes,
    highBytes,
    outcomes,
    rounds,
    collectingRounds: gc.collecting.length,
    agents: figures,
    memory,
    rss: samples,
    elapsedMs: runMs,
    problems,
    text: '',
  };
  report.text = formatSoak(report, samples);
  o.say(report.text);
  o.say(`soak took ${elapsed(t0)} in all`);
  return report;
}

/** Removes every image and all build cache from a daemon (the run is over: nothing uses them). */
async function emptyDaemon(docker: Docker): Promise<void> {
  for (const image of await docker.listImages({ all: true }))
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {}); // gone with a child removed before it: fine
  // dockerode's typings know no options for it; the Engine API takes `all`.
  const prune = docker.pruneBuilder.bind(docker) as unknown as (o: Record<string, unknown>) => Promise<unknown>;
  await prune({ all: true });
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(0)} s`;
}

/** The report as lines: outcomes, GC, disks, leaks, memory. */
function formatSoak(r: SoakReport, samples: readonly RssSample[]): string {
  const lines = [
    `soak (seed ${r.seed}): ${r.outcomes.unfinished.length} not ended, ${r.outcomes.unexpected.length} ended unexpectedly, ` +
      `${r.outcomes.outOfSpace.length} out of space; ${r.rounds.length} GC rounds logged, ${r.collectingRounds} collected`,
    ...Object.entries(r.outcomes.byKind).map(
      ([kind, ends]) =>
        `  ${kind}: ${Object.entries(ends)
          .map(([e, n]) => `${n} ${e}`)
          .join(', ')}`,
    ),
    ...r.agents.map(
      (a) =>
        `  ${a.name} (GC of the ${a.gcMode}): rounds ${a.gcRuns.periodic} periodic + ${a.gcRuns.pressure} after builds, ` +
        `${a.imagesRemoved} images removed, ${mib(a.reclaimedBytes)} MiB reclaimed; disk peak ${mib(a.peakUsedBytes)} of ` +
        `${mib(r.diskBytes)} MiB, ${a.samplesAboveHigh} of ${a.samples} samples above high (${mib(r.highBytes)} MiB); ` +
        `at the end the daemon holds ${mib(a.holdings.bytes)} MiB (${a.holdings.images} images, ` +
        `${a.holdings.buildCacheRecords} cache records, ${mib(a.holdings.buildCacheBytes)} MiB), the disk ` +
        `${mib(a.diskUsedBytes)} MiB, unaccounted ${mib(a.unaccountedBytes)} MiB; emptied ${mib(a.emptiedDaemonBytes)} MiB; ` +
        `after stopping ${mib(a.leftAfterStopBytes)} MiB`,
    ),
    ...r.rounds
      .filter((x) => x.usageBefore > x.high)
      .slice(-6)
      .map((x) => `  round: ${formatRound(x)}`),
    ...r.memory.map(
      (m) =>
        `  ${m.name} RSS early / late peak: ${m.verdict.earlyPeakMiB.toFixed(0)} / ${m.verdict.latePeakMiB.toFixed(0)} MiB`,
    ),
    formatRss(samples),
    ...r.problems.map((p) => `  PROBLEM: ${p}`),
  ];
  return lines.join('\n');
}
