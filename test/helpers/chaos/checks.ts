import { LABELS } from '../../../agent/build-runner.js';
import type { DaemonEvent } from '../docker.js';

/** A build as the run saw it at the end (undefined fields: it never got there). */
export interface FinalBuild {
  name: string;
  /** Its BuildConfig (one config a build, so RUN step executions can be told apart by config). */
  config: string;
  phase: string;
  reason: string;
  message: string;
  attempt: number;
  digest: string;
  createdMs: number;
  startedMs?: number;
  completedMs?: number;
  /** Its placements taken back (agent gone or draining, job lost or passed over) and placed again. */
  takenBack?: number;
  /** Its events, each as `+12.3 s Reason: message` from its creation: where a slow build's time went. */
  timeline?: string[];
}

export interface ChaosObservations {
  /** Every build the run started, by name; undefined when no coordinator could say what became of it. */
  builds: Map<string, FinalBuild | undefined>;
  /** Everything the agents' daemons reported during the run (their `image tag` events are counted). */
  events: DaemonEvent[];
  /**
   * RUN step executions per config, as the run counter (test/helpers/run-counter.ts) saw them:
   * each execution of the chaos Dockerfile's RUN step reports itself there under its config.
   */
  runs: Map<string, number>;
  /** Every log line of every agent process. */
  agentLogs: Record<string, unknown>[];
  /**
   * Containers with a Slipway label still on a daemon at the end. Only what Slipway makes as
   * containers (S2I's steps): a BuildKit RUN step is none, so this does not cover those.
   */
  leftovers: { daemon: number; id: string; build: string }[];
  /** Complete builds whose digest is not in the registry or did not run right: why. */
  badImages: Map<string, string>;
  deadlineSeconds: number;
  agentGraceMs: number;
  leaseCheckMs: number;
}

export interface ChaosFigures {
  builds: number;
  complete: number;
  /** Never reached a terminal phase, or vanished from the store. */
  lost: string[];
  /** Ended, but not Complete (phase/reason). */
  notComplete: string[];
  /** Some attempt executed more than once, more executions than attempts, or more than one result accepted. */
  runTwice: string[];
  /** Reports the coordinator refused because their attempt had been given up (late, fenced). */
  fencedReports: number;
  /** Attempts given up and retried (AgentLost and the like): the builds' attempt counts minus one. */
  retriedAttempts: number;
  /** Placements taken back and made again (scheduler.ts). */
  placementsTakenBack: number;
  /** Executions on the daemons (RUN steps that reached the run counter), over all builds. */
  executions: number;
  /**
   * Complete builds whose RUN step never reached the run counter: the counting saw nothing (a
   * cached step, a counter no step could reach), so "run twice" could not have been seen either.
   */
  unobserved: string[];
  /** Creation to terminal, ms. */
  timesToTerminalMs: number[];
  /** The slowest 1% (at least 3) ended builds, slowest first, with their event timelines. */
  slowest: { name: string; ms: number; timeline: string[] }[];
  /** Builds whose last attempt ran longer than its deadline plus the lease. */
  overDeadline: string[];
  leftovers: string[];
  badImages: string[];
}

const TERMINAL = new Set(['Complete', 'Failed', 'Error', 'Cancelled']);
const REFUSED = 'outcome refused: this attempt is no longer ours';
const ACCEPTED = 'outcome accepted';

/**
 * Counts what happened, from the daemons' events, the run counter and the agents' logs rather
 * than from state:
 *   - executions of a build = its config's RUN step executions reported to the run counter;
 *     finished executions of an attempt = image tags carrying that attempt's Slipway labels.
 *   - run twice: an attempt tagged twice, more executions than attempts, a Complete build whose
 *     accepted attempt did not finish exactly once on a daemon, or two accepted final results.
 */
export function evaluateChaos(o: ChaosObservations): ChaosFigures {
  const tags = new Map<string, number>(); // build/attempt → image tags
  for (const e of o.events) {
    if (e.type === 'image' && e.action === 'tag' && e.attributes[LABELS.build]) {
      const k = `${e.attributes[LABELS.build]}/${e.attributes[LABELS.attempt]}`;
      tags.set(k, (tags.get(k) ?? 0) + 1);
    }
  }
  const accepted = new Map<string, number>();
  let fencedReports = 0;
  for (const l of o.agentLogs) {
    if (l.msg === REFUSED) fencedReports++;
    if (l.msg === ACCEPTED && TERMINAL.has(String(l.phase)))
      accepted.set(String(l.build), (accepted.get(String(l.build)) ?? 0) + 1);
  }

  const f: ChaosFigures = {
    builds: o.builds.size,
    complete: 0,
    lost: [],
    notComplete: [],
    runTwice: [],
    fencedReports,
    retriedAttempts: 0,
    placementsTakenBack: 0,
    executions: [...o.runs.values()].reduce((a, b) => a + b, 0),
    unobserved: [],
    timesToTerminalMs: [],
    slowest: [],
    overDeadline: [],
    leftovers: o.leftovers.map((l) => `daemon ${l.daemon}: container ${l.id.slice(0, 12)} of ${l.build}`),
    badImages: [...o.badImages].map(([name, why]) => `${name}: ${why}`),
  };
  const limitMs = o.deadlineSeconds * 1000 + o.agentGraceMs + o.leaseCheckMs;
  for (const [name, b] of o.builds) {
    if (!b || !TERMINAL.has(b.phase)) {
      f.lost.push(`${name}: ${b ? `${b.phase} (attempt ${b.attempt}) ${b.message}` : 'not found'}`);
      continue;
    }
    f.retriedAttempts += Math.max(0, b.attempt - 1);
    f.placementsTakenBack += b.takenBack ?? 0;
    if (b.completedMs !== undefined) f.timesToTerminalMs.push(b.completedMs - b.createdMs);
    if (b.phase === 'Complete') f.complete++;
    else f.notComplete.push(`${name}: ${b.phase}/${b.reason} after ${b.attempt} attempt(s): ${b.message}`);
    if (b.startedMs !== undefined && b.completedMs !== undefined && b.completedMs - b.startedMs > limitMs) {
      f.overDeadline.push(`${name}: ran ${b.completedMs - b.startedMs} ms, more than ${limitMs} ms`);
    }

    const why: string[] = [];
    for (let a = 1; a <= b.attempt; a++) {
      const n = tags.get(`${name}/${a}`) ?? 0;
      if (n > 1) why.push(`attempt ${a} finished ${n} times`);
    }
    const executions = o.runs.get(b.config) ?? 0;
    if (executions > b.attempt) why.push(`${executions} executions for ${b.attempt} attempt(s)`);
    if (b.phase === 'Complete' && executions === 0)
      f.unobserved.push(`${name}: Complete, but no execution of its RUN step reached the run counter`);
    if (b.phase === 'Complete' && (tags.get(`${name}/${b.attempt}`) ?? 0) !== 1) {
      why.push(
        `its accepted attempt ${b.attempt} finished ${tags.get(`${name}/${b.attempt}`) ?? 0} times on the daemons`,
      );
    }
    const acceptedReports = accepted.get(`default/${name}`) ?? 0;
    if (acceptedReports > 1) why.push(`${acceptedReports} final results accepted`);
    if (why.length > 0) f.runTwice.push(`${name}: ${why.join('; ')}`);
  }
  f.slowest = [...o.builds.values()]
    .filter((b): b is FinalBuild => b?.completedMs !== undefined)
    .map((b) => ({ name: b.name, ms: b.completedMs! - b.createdMs, timeline: b.timeline ?? [] }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, Math.max(3, Math.ceil(o.builds.size / 100)));
  return f;
}

/** Everything that makes the run fail, one line each. */
export function chaosProblems(
  f: ChaosFigures,
  memory: { flat: boolean; latePeakMiB: number; boundMiB: number },
): string[] {
  return [
    ...f.lost.map((l) => `lost: ${l}`),
    ...f.notComplete.map((l) => `not Complete: ${l}`),
    ...f.runTwice.map((l) => `run twice: ${l}`),
    ...f.unobserved.map((l) => `not counted: ${l}`),
    ...f.overDeadline.map((l) => `past deadline plus lease: ${l}`),
    ...f.leftovers.map((l) => `left behind: ${l}`),
    ...f.badImages.map((l) => `image: ${l}`),
    ...(memory.flat
      ? []
      : [
          `coordinator memory grew: late peak ${memory.latePeakMiB.toFixed(0)} MiB > bound ${memory.boundMiB.toFixed(0)} MiB`,
        ]),
  ];
}
