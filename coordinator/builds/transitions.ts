import { BuildAlreadyTerminalError, InvalidInputError, NodeSelectorMismatchError, StaleAttemptError } from '../../common/errors.js';
import { formatLabels, unmatchedSelector } from '../../common/node-selector.js';
import { isTerminal, type Build, type BuildPhase } from '../api/types.js';

/**
 * The Build state machine, as pure functions from a build to its next state. Each returns
 * undefined when the build is already where the step would take it (so a repeated step is a
 * no-op, not an error), and throws a typed error when the step does not apply.
 *
 *   New ──assignAttempt──▶ Pending ──markQueued──▶ Pending(queued) ──claim──▶ Running
 *   Running ──complete──▶ Complete        Running ──fail──▶ Failed | Error
 *   New ──waitForBuild──▶ New (held by the run policy)   New ──supersede──▶ Cancelled
 */

function key(b: Build): string {
  return `${b.metadata.namespace}/${b.metadata.name}`;
}

/** New → Pending with the next attempt number. A build past New is left alone. */
export function assignAttempt(build: Build): Build | undefined {
  if (build.status.phase !== 'New') return undefined;
  return {
    ...build,
    status: { ...build.status, phase: 'Pending', attempt: build.status.attempt + 1, reason: undefined, message: undefined, queuedTimestamp: undefined },
  };
}

/**
 * Records that the attempt's job is on the work queue. Repeating it changes nothing. A build
 * with a nodeSelector says, unless it already says why it is Pending, which agents it waits for
 * (which agents match is placement's business, issue #12; this only names the selector).
 */
export function markQueued(build: Build, attempt: number, now: Date): Build | undefined {
  if (build.status.phase !== 'Pending' || build.status.attempt !== attempt || build.status.queuedTimestamp) return undefined;
  const selector = build.spec.config.nodeSelector;
  const waiting = selector && Object.keys(selector).length > 0 && !build.status.message;
  return {
    ...build,
    status: {
      ...build.status,
      queuedTimestamp: now.toISOString(),
      ...(waiting ? { message: `waiting for an agent on a node labelled ${formatLabels(selector)}` } : {}),
    },
  };
}

export interface Claim {
  attempt: number;
  agent: string;
  node: string;
  claimId: string;
  /** The labels of the claiming agent's node; the build's nodeSelector must match them. */
  nodeLabels?: Record<string, string>;
}

/**
 * Pending → Running on the claiming agent. Repeating the same claim (same claim id: its first
 * answer was lost) gets the build back unchanged; any other claim of a claimed attempt is refused.
 * @throws StaleAttemptError when the attempt is not current or another agent holds it;
 *         NodeSelectorMismatchError when the agent's node lacks a label the build selects.
 */
export function claim(build: Build, c: Claim, now: Date): Build | undefined {
  requireAttempt(build, c.attempt);
  if (build.status.phase === 'Running' && build.status.agent === c.agent && build.status.claimId === c.claimId) return undefined;
  if (isTerminal(build.status.phase)) throw new BuildAlreadyTerminalError(key(build), build.status.phase);
  if (build.status.phase !== 'Pending') {
    throw new StaleAttemptError(`build ${key(build)} attempt ${c.attempt} is ${build.status.phase} on agent "${build.status.agent ?? ''}"`);
  }
  const unmatched = unmatchedSelector(build.spec.config.nodeSelector, c.nodeLabels).map(([k, v]) => `${k}=${v}`);
  if (unmatched.length > 0) {
    throw new NodeSelectorMismatchError(
      `build ${key(build)} selects nodes labelled ${formatLabels(build.spec.config.nodeSelector)}; node "${c.node}" of agent "${c.agent}" lacks ${unmatched.join(',')}`,
      unmatched,
    );
  }
  // A Pending message without a reason only ever says what the build waits for (markQueued).
  const message = build.status.reason ? build.status.message : undefined;
  return {
    ...build,
    status: { ...build.status, message, phase: 'Running', agent: c.agent, node: c.node, claimId: c.claimId, startTimestamp: now.toISOString() },
  };
}

export interface Outcome {
  attempt: number;
  agent: string;
  phase: Extract<BuildPhase, 'Complete' | 'Failed' | 'Error' | 'Cancelled'>;
  reason?: string;
  message?: string;
  exitCode?: number;
  output?: { image: string; digest: string };
  commit?: string;
  logLines?: number;
}

/** Failures of the node rather than the build: the attempt may be retried (see loseAttempt). */
export const RETRYABLE_REASONS: ReadonlySet<string> = new Set(['AgentLost', 'AgentShutdown']);

/**
 * Running → a terminal phase, reported by the agent that owns the attempt. Repeating the report
 * that ended the build (same attempt, agent and outcome) changes nothing and gets the build
 * back: its first write may have landed while its answer was lost (a NATS timeout during a
 * leader election, a coordinator that died before answering), and the agent retries it.
 * @throws StaleAttemptError for a report from another attempt or agent;
 *         BuildAlreadyTerminalError when the build ended otherwise (another outcome, a cancel,
 *         the deadline backstop).
 */
export function finish(build: Build, o: Outcome, now: Date): Build | undefined {
  requireAttempt(build, o.attempt);
  if (isTerminal(build.status.phase)) {
    if (recordsOutcome(build, o)) return undefined;
    throw new BuildAlreadyTerminalError(key(build), build.status.phase);
  }
  if (build.status.phase !== 'Running' || build.status.agent !== o.agent) {
    throw new StaleAttemptError(`build ${key(build)} attempt ${o.attempt} is not running on agent "${o.agent}"`);
  }
  if (o.phase === 'Cancelled' && !build.status.cancelRequested) {
    throw new InvalidInputError([{ field: 'phase', message: 'Cancelled is only for a build whose cancel was requested' }], 'report');
  }
  if (o.phase === 'Error' && o.reason && RETRYABLE_REASONS.has(o.reason)) {
    return loseAttempt(build, o.reason, o.message ?? o.reason, now);
  }
  return {
    ...build,
    status: {
      ...build.status,
      phase: o.phase,
      reason: o.reason,
      message: o.message,
      exitCode: o.exitCode,
      output: o.output,
      commit: o.commit ?? build.status.commit,
      logLines: o.logLines,
      completionTimestamp: now.toISOString(),
    },
  };
}

/** Whether the ended build holds exactly this agent's report of its attempt. */
function recordsOutcome(build: Build, o: Outcome): boolean {
  const s = build.status;
  return (
    s.agent === o.agent &&
    s.phase === o.phase &&
    s.reason === o.reason &&
    s.message === o.message &&
    s.exitCode === o.exitCode &&
    s.output?.image === o.output?.image &&
    s.output?.digest === o.output?.digest &&
    s.logLines === o.logLines &&
    (o.commit === undefined || s.commit === o.commit)
  );
}

function requireAttempt(build: Build, attempt: number): void {
  if (build.status.attempt !== attempt) {
    throw new StaleAttemptError(`build ${key(build)} is at attempt ${build.status.attempt}, not ${attempt}`);
  }
}

/**
 * A cancel request. New or Pending: Cancelled now (a queued job is refused when claimed).
 * Running: marked, and its agent stops it and reports Cancelled. Asking twice is a no-op.
 * @throws BuildAlreadyTerminalError
 */
export function cancel(build: Build, now: Date): Build | undefined {
  const phase = build.status.phase;
  if (isTerminal(phase)) throw new BuildAlreadyTerminalError(key(build), phase);
  if (phase === 'Running') {
    if (build.status.cancelRequested) return undefined;
    return { ...build, status: { ...build.status, cancelRequested: true } };
  }
  return {
    ...build,
    status: { ...build.status, phase: 'Cancelled', reason: 'Cancelled', message: 'cancelled before it ran', completionTimestamp: now.toISOString() },
  };
}

/**
 * The running attempt is gone with its agent (it stopped heartbeating, restarted, or shut down
 * before finishing). With retries left the build gets a new attempt, which the controller
 * queues; otherwise it ends in Error. A build whose cancel was requested just ends Cancelled.
 */
export function loseAttempt(build: Build, reason: string, message: string, now: Date): Build {
  if (build.status.phase !== 'Running') throw new StaleAttemptError(`build ${key(build)} is ${build.status.phase}, not Running`);
  if (build.status.cancelRequested) {
    return { ...build, status: { ...build.status, phase: 'Cancelled', reason: 'Cancelled', message: `cancelled; ${message}`, completionTimestamp: now.toISOString() } };
  }
  const retries = build.spec.config.retries ?? 0;
  if (build.status.attempt <= retries) {
    return {
      ...build,
      status: {
        phase: 'Pending',
        attempt: build.status.attempt + 1,
        reason,
        message: `attempt ${build.status.attempt}: ${message}; retrying (${build.status.attempt} of ${retries} retries used)`,
      },
    };
  }
  return { ...build, status: { ...build.status, phase: 'Error', reason, message, completionTimestamp: now.toISOString() } };
}

/** Ms left before a Running build's deadline; undefined when it has none or is not running. */
export function deadlineRemainingMs(build: Build, now: Date): number | undefined {
  const seconds = build.spec.config.completionDeadlineSeconds;
  if (!seconds || build.status.phase !== 'Running' || !build.status.startTimestamp) return undefined;
  return new Date(build.status.startTimestamp).getTime() + seconds * 1000 - now.getTime();
}

/** A Running build past its deadline whose agent did not stop it: Failed, DeadlineExceeded. */
export function expireDeadline(build: Build, now: Date): Build {
  return {
    ...build,
    status: {
      ...build.status,
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: `still running ${build.spec.config.completionDeadlineSeconds}s after it started, and its agent did not stop it`,
      completionTimestamp: now.toISOString(),
    },
  };
}

/** Reason of a New build that its config's run policy holds back (Serial, SerialLatestOnly). */
export const WAITING_REASON = 'WaitingForPreviousBuild';
/** Reason of a queued build a newer one replaced (SerialLatestOnly). */
export const SUPERSEDED_REASON = 'Superseded';

/**
 * A New build held back by its config's run policy says which build it waits for. Undefined
 * when it already says so (the message is written only when it changes) or is past New.
 */
export function waitForBuild(build: Build, waitingFor: string): Build | undefined {
  if (build.status.phase !== 'New') return undefined;
  const message = `waiting for build ${waitingFor} to finish (run policy ${build.spec.config.runPolicy ?? 'Parallel'})`;
  if (build.status.reason === WAITING_REASON && build.status.message === message) return undefined;
  return { ...build, status: { ...build.status, reason: WAITING_REASON, message } };
}

/**
 * New → Cancelled, reason Superseded: a newer build of the config runs instead
 * (SerialLatestOnly). A build past New is left alone: it was started, and only a cancel stops it.
 */
export function supersede(build: Build, newer: string, now: Date): Build | undefined {
  if (build.status.phase !== 'New') return undefined;
  return {
    ...build,
    status: {
      ...build.status,
      phase: 'Cancelled',
      reason: SUPERSEDED_REASON,
      message: `superseded by newer build ${newer} (run policy SerialLatestOnly)`,
      completionTimestamp: now.toISOString(),
    },
  };
}
