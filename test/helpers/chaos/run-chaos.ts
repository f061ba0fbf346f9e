import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { LABELS } from '../../../agent/build-runner.js';
import { SlipwayClient } from '../../../cli/client.js';
import type { Build__Output } from '../../../proto/generated/slipway/v1/Build.js';
import { pullAndRun, recordDaemonEvents, type DaemonEvent } from '../docker.js';
import { testEnvironment } from '../environment.js';
import { startGitServer } from '../git-server.js';
import { startNatsCluster } from '../nats-cluster.js';
import { freePort } from '../ports.js';
import { startPrivateDaemon } from '../private-daemon.js';
import { tempDir } from '../processes.js';
import { startRunCounter, type RunCounter } from '../run-counter.js';
import { startAgentProcess, startCoordinatorProcess } from '../service-processes.js';
import { dockerBuildConfig } from '../slipway.js';
import type { Teardowns } from '../teardowns.js';
import { applySchedule, type AppliedStep } from './apply-schedule.js';
import { diagnoseOpenBuilds } from './diagnose.js';
import { chaosProblems, evaluateChaos, type ChaosFigures, type FinalBuild } from './checks.js';
import { formatRss, memoryVerdict, sampleRss, type MemoryVerdict, type RssSample } from './rss.js';
import {
  chaosSchedule,
  formatSchedule,
  type ChaosTopology,
  type FaultKind,
  type FaultStep,
  type ScheduleOptions,
} from './schedule.js';
import { supervisedNatsNode, supervisedService, type Supervised } from './supervisor.js';

export interface ChaosOptions {
  seed: number;
  builds: number;
  /** Builds started per second (spread over both coordinators). */
  startsPerSecond: number;
  /** The coordinators' agent grace (the lease): short, so frozen agents lose their builds. */
  agentGraceMs: number;
  /** Each build's completionDeadlineSeconds. */
  deadlineSeconds: number;
  /** Each build's retries (new attempts after AgentLost). */
  retries: number;
  /** Builds each agent runs at once. */
  concurrency: number;
  /** How to run this again with the same seed, printed with the figures. */
  replayCommand: (seed: number) => string;
  /** Where progress and the report go (console.log, t.log). */
  say: (line: string) => void;
  /** When the run fails (or with keepLogs, always), every agent's and coordinator's log is written here (JSON lines). */
  logDir?: string;
  keepLogs?: boolean;
}

export interface ChaosReport {
  seed: number;
  schedule: FaultStep[];
  applied: AppliedStep[];
  figures: ChaosFigures;
  memory: MemoryVerdict;
  rss: RssSample[];
  restarts: Record<FaultKind, number>;
  /** Every reason the run failed; empty when it passed. */
  problems: string[];
  /** The figures as printed. */
  text: string;
}

const OPEN_PHASES = ['New', 'Pending', 'Running'];
/** The coordinators' lease check interval (their default): part of "deadline plus the lease". */
const LEASE_CHECK_MS = 2000;
/** The run's processes: a 3-node NATS cluster (R3), 2 coordinators, 3 agents on 3 daemons. */
const TOPOLOGY: ChaosTopology = { natsNodes: 3, coordinators: 2, agents: 3 };

/**
 * The chaos run of issue #11: real NATS, 2 coordinator and 3 agent processes, each agent on a
 * private dockerd of its own, real builds from a git daemon into the environment's registry,
 * while the seeded schedule kills and freezes processes. Returns the figures and every problem
 * found; the caller decides how to fail.
 */
export async function runChaos(t: Teardowns, o: ChaosOptions): Promise<ChaosReport> {
  const env = testEnvironment();
  const topology = TOPOLOGY;
  const cluster = await startNatsCluster(t, { nodes: topology.natsNodes });
  const natsUrls = cluster.urls;
  const natsNodes = cluster.nodes.map((n, i) => supervisedNatsNode(`NATS node ${i}`, n));
  // The schedule covers the starts and a tail for the last builds; it stops early when all have ended.
  const durationMs = Math.ceil((o.builds / o.startsPerSecond) * 1000) + 30_000;
  const scheduleOptions: ScheduleOptions = { seed: o.seed, durationMs, topology, agentGraceMs: o.agentGraceMs };
  const schedule = chaosSchedule(scheduleOptions);
  o.say(formatSchedule(scheduleOptions, schedule));
  o.say(`replay: ${o.replayCommand(o.seed)}`);

  // --- the processes ---------------------------------------------------------------------------
  const git = await startGitServer(t);
  // Each execution of the RUN step reports its config to the counter, so executions are counted
  // per config: a BuildKit step is no container, the daemons report nothing of it. The private
  // daemons have no bridge, so their builds run on the host's network and reach 127.0.0.1.
  const counter = await startRunCounter(t);
  const repo = await git.createRepo('chaos', {
    Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN ${counter.command('$N')} && echo "chaos-$N" > /n\nCMD ["cat", "/n"]\n`,
  });
  const daemons = await Promise.all(Array.from({ length: topology.agents }, () => startPrivateDaemon(t)));
  const coordinatorPorts = await Promise.all(Array.from({ length: topology.coordinators }, () => freePort()));
  // At once, as a Deployment starts them: both create the same R3 buckets and streams.
  const coordinators: Supervised[] = await Promise.all(
    coordinatorPorts.map((port, i) =>
      supervisedService(`coordinator ${i}`, () =>
        startCoordinatorProcess(t, {
          natsUrl: natsUrls.join(','),
          port,
          id: `chaos-coordinator-${i}`,
          env: {
            SLIPWAY_AGENT_GRACE_MS: String(o.agentGraceMs),
            SLIPWAY_NATS_REPLICAS: String(Math.min(3, natsUrls.length)),
            SLIPWAY_LOG_LEVEL: 'info',
          },
        }),
      ),
    ),
  );
  const work = await tempDir(t, 'slipway-chaos-');
  const agents: Supervised[] = [];
  for (const [i, daemon] of daemons.entries()) {
    const name = `chaos-agent-${i}`;
    agents.push(
      await supervisedService(`agent ${i}`, () =>
        startAgentProcess(t, {
          natsUrl: natsUrls.join(','),
          // Every agent knows both coordinators and goes on with the other while one is down.
          coordinator: coordinatorPorts.map((p) => `127.0.0.1:${p}`).join(','),
          name,
          workDir: path.join(work, name),
          env: { SLIPWAY_DOCKER_HOST: `unix://${daemon.socket}`, SLIPWAY_AGENT_CONCURRENCY: String(o.concurrency) },
        }),
      ),
    );
  }
  const clients = coordinatorPorts.map((port) => new SlipwayClient(`127.0.0.1:${port}`));
  t.teardown(() => clients.forEach((c) => c.close()));
  /** Calls `fn` on a coordinator that answers, trying them in turn for up to a minute. */
  const onAny = async <T>(fn: (c: SlipwayClient) => Promise<T>, first = 0): Promise<T> => {
    const until = Date.now() + 60_000;
    for (let i = first; ; i++) {
      try {
        return await fn(clients[i % clients.length]!);
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  // --- the builds' configs, before the chaos ----------------------------------------------------
  const repository = `chaos/run-${o.seed.toString(16)}-${Date.now().toString(36)}`;
  const configs = Array.from({ length: o.builds }, (_, i) => `c${i}`);
  for (const [i, name] of configs.entries()) {
    const config = dockerBuildConfig(name, repo.uri, `${env.registry}/${repository}:${name}`, {
      noCache: true,
      buildArgs: [{ name: 'N', value: name }],
    });
    config.spec!.completionDeadlineSeconds = o.deadlineSeconds;
    config.spec!.retries = o.retries;
    await onAny((c) => c.createBuildConfig(config), i).catch((err: { code?: number }) => {
      if (err.code !== 6) throw err; // ALREADY_EXISTS: an earlier try went through
    });
  }

  // --- the run -----------------------------------------------------------------------------------
  const recordings = await Promise.all(daemons.map((d) => recordDaemonEvents(d.docker)));
  const rss = sampleRss(() => coordinators.map((c) => ({ name: c.name, pid: c.pid })), 1000);
  const stopChaos = new AbortController();
  const chaos = applySchedule(schedule, { coordinators, agents, nats: natsNodes }, stopChaos.signal, o.say);
  const t0 = Date.now();
  const started = new Set<string>();
  for (const [i, name] of configs.entries()) {
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + (i * 1000) / o.startsPerSecond - Date.now())));
    const build = await startOnce(clients, onAny, name, i);
    started.add(build);
    if (build !== `${name}-1`)
      o.say(`chaos: ${name}'s build is ${build}: a StartBuild that failed took a number first`);
    if ((i + 1) % 50 === 0) o.say(`chaos: ${i + 1} of ${o.builds} builds started`);
  }
  // Every build must end within its attempts' deadlines plus the lease after the last start.
  const waitUntil =
    Date.now() + (o.retries + 1) * (o.deadlineSeconds * 1000 + o.agentGraceMs + LEASE_CHECK_MS) + 30_000;
  // Polls the unfinished phases only (a full listing of 1,000 builds a second would weigh on the
  // coordinators' memory, which is measured); the full listing when none is left, or at the end.
  let finals = new Map<string, Build__Output>();
  for (;;) {
    const open = await Promise.all(
      OPEN_PHASES.map((phase) => onAny((c) => c.listBuilds({ namespace: 'default', phase }))),
    ).catch(() => undefined);
    const done = open !== undefined && open.every((l) => l.length === 0);
    if (done || Date.now() > waitUntil) {
      const listed = await onAny((c) => c.listBuilds({ namespace: 'default' })).catch(() => undefined);
      if (listed) finals = new Map(listed.map((b) => [b.metadata!.name, b]));
      if ([...started].every((n) => isTerminal(finals.get(n))) || Date.now() > waitUntil) break;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  stopChaos.abort();
  const applied = await chaos;
  const open = [...started].filter((n) => !isTerminal(finals.get(n)));
  if (open.length > 0) {
    o.say(
      await diagnoseOpenBuilds({
        natsUrls,
        agents: daemons.map((_, i) => `chaos-agent-${i}`),
        open: open.map((name) => ({ name, build: finals.get(name) })),
        agentLogs: agents.flatMap((a) => a.logs()),
        coordinatorLogs: coordinators.flatMap((c) => c.logs()),
        limit: 8,
      }).catch((err: Error) => `diagnosis failed: ${err.message}`),
    );
  }
  o.say(
    `chaos: builds ended after ${((Date.now() - t0) / 1000).toFixed(0)} s; ${applied.length} of ${schedule.length} steps applied`,
  );

  // Let frozen-then-woken agents be told to stop, report (refused) and clean up.
  await quiesce(
    daemons.map((d) => d.docker),
    counter,
    30_000,
  );
  const samples = rss.stop();
  const events: DaemonEvent[] = (await Promise.all(recordings.map((r) => r.stop()))).flat();
  const leftovers = (
    await Promise.all(
      daemons.map(async (d, i) =>
        (await labelledContainers(d.docker)).map((c) => ({
          daemon: i,
          id: c.Id,
          build: c.Labels[LABELS.build] ?? '?',
        })),
      ),
    )
  ).flat();

  // --- the images ---------------------------------------------------------------------------------
  const builds = new Map<string, FinalBuild | undefined>();
  for (const name of started) builds.set(name, finalBuild(finals.get(name)));
  const badImages = new Map<string, string>();
  const complete = [...builds.values()].filter((b): b is FinalBuild => b?.phase === 'Complete');
  await inParallel(complete, 4, async (b) => {
    const ref = `${env.registry}/${repository}@${b.digest}`;
    try {
      const out = await pullAndRun(daemons[0]!.docker, ref);
      if (out.trim() !== `chaos-${b.config}`)
        badImages.set(b.name, `${ref} printed "${out.trim()}", not "chaos-${b.config}"`);
    } catch (err) {
      badImages.set(b.name, `${ref}: ${(err as Error).message.split('\n')[0]}`);
    }
  });

  const figures = evaluateChaos({
    builds,
    events,
    runs: counter.runs(),
    agentLogs: agents.flatMap((a) => a.logs()),
    leftovers,
    badImages,
    deadlineSeconds: o.deadlineSeconds,
    agentGraceMs: o.agentGraceMs,
    leaseCheckMs: LEASE_CHECK_MS,
  });
  const memory = memoryVerdict(samples);
  const restarts: Record<FaultKind, number> = {
    coordinator: coordinators.reduce((n, c) => n + c.restarts, 0),
    agent: agents.reduce((n, a) => n + a.restarts, 0),
    nats: natsNodes.reduce((n, c) => n + c.restarts, 0),
    freeze: applied.filter((s) => s.step.kind === 'freeze').length,
  };
  const problems = [
    ...chaosProblems(figures, memory),
    ...applied.filter((s) => s.error).map((s) => `restart failed: ${s.step.kind} ${s.step.target}: ${s.error}`),
  ];
  const text = report({
    seed: o.seed,
    replay: o.replayCommand(o.seed),
    schedule,
    scheduleOptions,
    applied,
    figures,
    memory,
    samples,
    restarts,
    problems,
  });
  o.say(text);
  const tagged = (kind: string, procs: Supervised[]) =>
    procs.flatMap((p, i) => p.logs().map((l) => ({ process: `${kind}-${i}`, ...l })));
  const logs = { agents: tagged('agent', agents), coordinators: tagged('coordinator', coordinators) };
  if (problems.length > 0) {
    const suspects = [...figures.runTwice, ...figures.lost].map((line) => line.split(':')[0]!).slice(0, 4);
    for (const name of suspects) o.say(logsOf(name, logs));
  }
  // Always when asked (bench): the slowest builds' logs say where their time went.
  if (o.logDir && (problems.length > 0 || o.keepLogs)) {
    await mkdir(o.logDir, { recursive: true });
    for (const [who, lines] of Object.entries(logs))
      await writeFile(path.join(o.logDir, `${who}.jsonl`), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    o.say(`chaos: the agents' and coordinators' logs are in ${o.logDir}`);
  }
  return { seed: o.seed, schedule, applied, figures, memory, rss: samples, restarts, problems, text };
}

function isTerminal(b: Build__Output | undefined): boolean {
  return b !== undefined && ['Complete', 'Failed', 'Error', 'Cancelled'].includes(b.status!.phase);
}

function finalBuild(b: Build__Output | undefined): FinalBuild | undefined {
  if (!b) return undefined;
  const ms = (s: string | undefined) => (s ? new Date(s).getTime() : undefined);
  return {
    name: b.metadata!.name,
    config: b.metadata!.name.replace(/-\d+$/, ''),
    phase: b.status!.phase,
    reason: b.status!.reason,
    message: b.status!.message,
    attempt: b.status!.attempt,
    digest: b.status!.output?.digest ?? '',
    createdMs: ms(b.metadata!.creationTimestamp)!,
    startedMs: ms(b.status!.startTimestamp),
    completedMs: ms(b.status!.completionTimestamp),
    takenBack: b.status!.events.filter((e) => e.reason === 'Unplaced').length,
    timeline: b.status!.events.map(
      (e) =>
        `+${((new Date(e.timestamp).getTime() - ms(b.metadata!.creationTimestamp)!) / 1000).toFixed(1)} s ${e.reason}: ${e.message}`,
    ),
  };
}

/**
 * Starts the config's build once. A StartBuild whose answer was lost may have made the build:
 * before trying again, ask whether it exists, so the run never starts a second build itself.
 */
async function startOnce(
  clients: SlipwayClient[],
  onAny: <T>(fn: (c: SlipwayClient) => Promise<T>, first?: number) => Promise<T>,
  config: string,
  i: number,
): Promise<string> {
  const until = Date.now() + 120_000;
  for (let k = i; ; k++) {
    const existing = await onAny((c) => c.listBuilds({ namespace: 'default', configName: config }), k).catch(
      () => undefined,
    );
    if (existing && existing.length > 0) return existing[0]!.metadata!.name;
    if (existing) {
      try {
        // One call, never retried blind: its build may exist even when the answer was lost.
        return (await clients[k % clients.length]!.startBuild({ namespace: 'default', configName: config })).metadata!
          .name;
      } catch (err) {
        if (Date.now() > until) throw err;
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The containers on `docker` with a Slipway label: what an attempt made as containers (S2I's
 * steps) and left. A BuildKit RUN step is no container, so this says nothing about those.
 */
async function labelledContainers(docker: Docker) {
  const all = await docker.listContainers({ all: true });
  return all.filter((c) => c.Labels?.[LABELS.build] !== undefined);
}

/** How long the run counter must have had no request before the run counts what it saw. */
const COUNTER_QUIET_MS = 3000;

/**
 * Waits (up to `timeoutMs`) until no daemon has a labelled container and no RUN step has reached
 * the counter for COUNTER_QUIET_MS: every attempt has cleaned up, and a step a woken agent's
 * build still ran is counted (BuildKit steps leave no container to wait for).
 */
async function quiesce(dockers: Docker[], counter: RunCounter, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const total = () => [...counter.hits().values()].reduce((a, b) => a + b, 0);
  let seen = total();
  let changedAt = Date.now();
  while (Date.now() < until) {
    const left = (await Promise.all(dockers.map(labelledContainers))).flat();
    if (total() !== seen) [seen, changedAt] = [total(), Date.now()];
    if (left.length === 0 && Date.now() - changedAt >= COUNTER_QUIET_MS) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function percentileMs(values: number[], p: number): string {
  if (values.length === 0) return '-';
  const sorted = [...values].sort((a, b) => a - b);
  const v = sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
  return `${(v / 1000).toFixed(1)} s`;
}

function report(r: {
  seed: number;
  replay: string;
  schedule: FaultStep[];
  scheduleOptions: ScheduleOptions;
  applied: AppliedStep[];
  figures: ChaosFigures;
  memory: MemoryVerdict;
  samples: RssSample[];
  restarts: Record<FaultKind, number>;
  problems: string[];
}): string {
  const f = r.figures;
  const applied = r.applied.map((s) => s.step);
  return [
    formatSchedule(r.scheduleOptions, applied),
    applied.length < r.schedule.length
      ? `  (every build had ended after ${applied.length} of the schedule's ${r.schedule.length} steps; the rest did not run)`
      : `  (all ${applied.length} steps ran)`,
    `chaos results, seed ${r.seed}:`,
    `  builds            ${f.builds} (${f.complete} Complete, ${f.notComplete.length} ended otherwise)`,
    `  lost              ${f.lost.length}`,
    `  run twice         ${f.runTwice.length}`,
    `  fenced attempts   ${f.fencedReports} late reports refused; ${f.retriedAttempts} attempts given up and retried; ${f.placementsTakenBack} placements taken back (agent gone, or job lost or passed over)`,
    `  executions        ${f.executions} RUN steps run on the daemons for ${f.builds} builds (${f.unobserved.length} Complete builds with none)`,
    `  time to terminal  p50 ${percentileMs(f.timesToTerminalMs, 50)}, p99 ${percentileMs(f.timesToTerminalMs, 99)} (created → ended)`,
    `  restarts          coordinator ${r.restarts.coordinator}, agent ${r.restarts.agent}, NATS node ${r.restarts.nats}, agent frozen past its lease ${r.restarts.freeze}`,
    `  left behind       ${f.leftovers.length} labelled containers (S2I's; BuildKit steps are none)`,
    `  coordinator RSS   early peak ${r.memory.earlyPeakMiB.toFixed(0)} MiB, late peak ${r.memory.latePeakMiB.toFixed(0)} MiB (bound ${r.memory.boundMiB.toFixed(0)} MiB): ${r.memory.flat ? 'flat' : 'GREW'}`,
    formatRss(r.samples),
    `  slowest builds    (where their time went, from creation)`,
    ...f.slowest.flatMap((b) => [
      `    ${b.name}: ${(b.ms / 1000).toFixed(1)} s`,
      ...b.timeline.map((l) => `      ${l}`),
    ]),
    r.problems.length === 0
      ? 'chaos: PASS'
      : `chaos: FAIL, ${r.problems.length} problem(s):\n${r.problems.map((p) => `  ${p}`).join('\n')}`,
    `replay: ${r.replay}`,
  ].join('\n');
}

/** The log lines that name build `name` (`c399-1`), each process's last 40, for a failed run's report. */
function logsOf(name: string, logs: Record<string, Record<string, unknown>[]>): string {
  const pattern = new RegExp(`\\b${name}\\b`);
  const out = [`chaos: logs naming ${name}:`];
  for (const [who, lines] of Object.entries(logs)) {
    const naming = lines.filter((l) => pattern.test(JSON.stringify(l)));
    out.push(`  ${who}: ${naming.length} line(s)${naming.length > 40 ? ', the last 40' : ''}`);
    for (const l of naming.slice(-40)) out.push(`    ${JSON.stringify(l)}`);
  }
  return out.join('\n');
}
