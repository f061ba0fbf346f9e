import {
  BuildAlreadyTerminalError,
  InvalidInputError,
  NodeSelectorMismatchError,
  StaleAttemptError,
} from '../../common/errors.js';
import { formatLabels, unmatchedSelector } from '../../common/node-selector.js';
import {
  isTerminal,
  longestStage,
  MAX_BUILD_EVENTS,
  PENDING_REASONS,
  type PendingReason,
  type Build,
  type BuildEvent,
  type BuildPhase,
  type BuildStage,
  type SourceImageDigest,
} from '../../api/types.js';

/**
 * The Build state machine, as pure functions from a build to its next state. Each returns
 * undefined when the build is already where the step would take it (so a repeated step is a
 * no-op, not an error), and throws a typed error when the step does not apply.
 *
 *   New ──assignAttempt──▶ Pending ──markQueued──▶ Pending(queued) ──claim──▶ Running
 *   Running ──complete──▶ Complete        Running ──fail──▶ Failed | Error
 *   New ──waitForBuild──▶ New (held by the run policy)   New ──supersede──▶ Cancelled
 *
 * A step that people would want to see also appends an event (`withEvent`), so the event is
 * written in the same compare-and-set as the change it tells of: there is no event for a
 * change that lost its race, and no change without its event.
 */

/** Longest event message kept: the status keeps the whole message of the outcome; events are a history of MAX_BUILD_EVENTS. */
export const MAX_EVENT_MESSAGE = 1024;

/** An event, as the transitions record them (a longer message is clipped, ending in "…"). */
export function buildEvent(type: BuildEvent['type'], reason: string, message: string, at: Date | string): BuildEvent {
  const clipped = message.length > MAX_EVENT_MESSAGE ? `${message.slice(0, MAX_EVENT_MESSAGE - 1)}…` : message;
  return { type, reason, message: clipped, timestamp: typeof at === 'string' ? at : at.toISOString() };
}

/**
 * The build with `events` appended to its status, keeping the newest MAX_BUILD_EVENTS (the
 * oldest are dropped). Pure: for use inside a transition, whose write then carries the events.
 */
export function withEvent(build: Build, ...events: BuildEvent[]): Build {
  const all = [...(build.status.events ?? []), ...events];
  return { ...build, status: { ...build.status, events: all.slice(Math.max(0, all.length - MAX_BUILD_EVENTS)) } };
}

function key(b: Build): string {
  return `${b.metadata.namespace}/${b.metadata.name}`;
}

/** New → Pending with the next attempt number. A build past New is left alone. */
export function assignAttempt(build: Build): Build | undefined {
  if (build.status.phase !== 'New') return undefined;
  return {
    ...build,
    status: {
      ...build.status,
      phase: 'Pending',
      attempt: build.status.attempt + 1,
      reason: undefined,
      message: undefined,
      queuedTimestamp: undefined,
      placement: undefined,
      placements: undefined,
    },
  };
}

/**
 * Records that the attempt waits for placement (placement/scheduler.ts puts it on an agent).
 * Repeating it changes nothing.
 */
export function markQueued(build: Build, attempt: number, now: Date): Build | undefined {
  if (build.status.phase !== 'Pending' || build.status.attempt !== attempt || build.status.queuedTimestamp)
    return undefined;
  const queued: Build = { ...build, status: { ...build.status, queuedTimestamp: now.toISOString() } };
  return withEvent(queued, buildEvent('Normal', 'Queued', `attempt ${attempt} queued for placement`, now));
}

/** The status without a placement's waiting reason (a retry's reason and message stay). */
function withoutPendingReason(status: Build['status']): Build['status'] {
  return isPendingReason(status.reason) ? { ...status, reason: undefined, message: undefined } : status;
}

export function isPendingReason(reason: string | undefined): reason is PendingReason {
  return (PENDING_REASONS as readonly string[]).includes(reason ?? '');
}

/**
 * A queued attempt → placed on `agent`, whose queue its job then goes to; the placement count
 * numbers that job's copy. Undefined when the attempt is not waiting for placement.
 */
export function place(
  build: Build,
  attempt: number,
  agent: { name: string; node: string },
  why: string,
  now: Date,
): Build | undefined {
  const s = build.status;
  if (s.phase !== 'Pending' || s.attempt !== attempt || !s.queuedTimestamp || s.placement) return undefined;
  const placed: Build = {
    ...build,
    status: {
      ...withoutPendingReason(s),
      placement: { agent: agent.name, node: agent.node, timestamp: now.toISOString() },
      placements: (s.placements ?? 0) + 1,
    },
  };
  return withEvent(
    placed,
    buildEvent(
      'Normal',
      'Placed',
      `attempt ${attempt} placed on agent ${agent.name} (node ${agent.node})${why ? `: ${why}` : ''}`,
      now,
    ),
  );
}

/** A placed, unclaimed attempt goes back to waiting for placement: its agent went away or did not claim it. */
export function unplace(build: Build, attempt: number, why: string, now: Date): Build | undefined {
  const s = build.status;
  if (s.phase !== 'Pending' || s.attempt !== attempt || !s.placement) return undefined;
  const { placement, ...rest } = s;
  return withEvent(
    { ...build, status: rest },
    buildEvent('Warning', 'Unplaced', `attempt ${attempt} taken back from agent ${placement.agent}: ${why}`, now),
  );
}

/**
 * Says why a queued attempt is not placed. An event is written when the reason changes, not
 * when only the message does (how many builds are ahead). Undefined when nothing changes.
 */
export function waitForPlacement(
  build: Build,
  attempt: number,
  reason: PendingReason,
  message: string,
  now: Date,
): Build | undefined {
  const s = build.status;
  if (s.phase !== 'Pending' || s.attempt !== attempt || s.placement) return undefined;
  if (s.reason === reason && s.message === message) return undefined;
  const waiting: Build = { ...build, status: { ...s, reason, message } };
  if (s.reason === reason) return waiting;
  return withEvent(waiting, buildEvent(reason === 'WaitingForCapacity' ? 'Normal' : 'Warning', reason, message, now));
}

/**
 * A build not placed within its pendingDeadlineSeconds → Failed, with the reason it waited for
 * (PendingDeadlineExceeded when it had none). Undefined when the deadline has not passed.
 */
export function expirePending(build: Build, now: Date): Build | undefined {
  const s = build.status;
  const seconds = build.spec.config.pendingDeadlineSeconds;
  if (s.phase !== 'Pending' || s.placement || !s.queuedTimestamp || seconds === undefined) return undefined;
  if (now.getTime() - Date.parse(s.queuedTimestamp) < seconds * 1000) return undefined;
  const reason = isPendingReason(s.reason) ? s.reason : 'PendingDeadlineExceeded';
  const why = isPendingReason(s.reason) && s.message ? `: ${s.message}` : '';
  const message = `not placed on an agent within pendingDeadlineSeconds (${seconds} s)${why}`;
  return withEvent(
    { ...build, status: { ...s, phase: 'Failed', reason, message, completionTimestamp: now.toISOString() } },
    buildEvent('Warning', reason, message, now),
  );
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
  if (build.status.phase === 'Running' && build.status.agent === c.agent && build.status.claimId === c.claimId)
    return undefined;
  if (isTerminal(build.status.phase)) throw new BuildAlreadyTerminalError(key(build), build.status.phase);
  if (build.status.phase !== 'Pending') {
    throw new StaleAttemptError(
      `build ${key(build)} attempt ${c.attempt} is ${build.status.phase} on agent "${build.status.agent ?? ''}"`,
    );
  }
  const placed = build.status.placement?.agent;
  if (placed !== c.agent) {
    throw new StaleAttemptError(
      placed
        ? `build ${key(build)} attempt ${c.attempt} is placed on agent "${placed}", not "${c.agent}"`
        : `build ${key(build)} attempt ${c.attempt} is not placed on an agent (yet, or any more)`,
    );
  }
  const unmatched = unmatchedSelector(build.spec.config.nodeSelector, c.nodeLabels).map(([k, v]) => `${k}=${v}`);
  if (unmatched.length > 0) {
    throw new NodeSelectorMismatchError(
      `build ${key(build)} selects nodes labelled ${formatLabels(build.spec.config.nodeSelector)}; node "${c.node}" of agent "${c.agent}" lacks ${unmatched.join(',')}`,
      unmatched,
    );
  }
  const { placement: _placed, ...status } = withoutPendingReason(build.status);
  const running: Build = {
    ...build,
    status: {
      ...status,
      phase: 'Running',
      agent: c.agent,
      node: c.node,
      claimId: c.claimId,
      startTimestamp: now.toISOString(),
    },
  };
  return withEvent(
    running,
    buildEvent('Normal', 'Scheduled', `attempt ${c.attempt} claimed by agent ${c.agent} on node ${c.node}`, now),
  );
}

/**
 * Records the digests a Running attempt resolved its source images' tags to, on the agent that
 * owns it, before it copies from them. The first record stays for the rest of the build: when
 * one is there (an earlier attempt made it, or this report is repeated), the build is left as it
 * is, and the agent uses the digests it holds. Undefined then.
 * @throws StaleAttemptError when the attempt is not current or not running on `agent`;
 *   BuildAlreadyTerminalError when the build ended; InvalidInputError when `images` does not
 *   name the build's source images in their order.
 */
export function recordSourceImages(
  build: Build,
  r: { attempt: number; agent: string; images: SourceImageDigest[] },
  now: Date,
): Build | undefined {
  requireAttempt(build, r.attempt);
  if (isTerminal(build.status.phase)) throw new BuildAlreadyTerminalError(key(build), build.status.phase);
  if (build.status.phase !== 'Running' || build.status.agent !== r.agent)
    throw new StaleAttemptError(`build ${key(build)} attempt ${r.attempt} is not running on agent "${r.agent}"`);
  const wanted = (build.spec.config.source.images ?? []).map((i) => i.from);
  const given = r.images.map((i) => i.from);
  if (wanted.length !== given.length || wanted.some((from, i) => from !== given[i]))
    throw new InvalidInputError(
      [{ field: 'images', message: `must name the build's source images in order (${wanted.join(', ') || 'none'})` }],
      'report',
    );
  if (build.status.sourceImages) return undefined;
  return withEvent(
    { ...build, status: { ...build.status, sourceImages: r.images.map(({ from, digest }) => ({ from, digest })) } },
    buildEvent(
      'Normal',
      'SourceImagesResolved',
      `source images resolved: ${r.images.map((i) => `${i.from} → ${i.digest}`).join(', ')}`,
      now,
    ),
  );
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
  /** The attempt's stages as its agent timed them (only those it reached). */
  stages?: BuildStage[];
  /** Not Complete: the last lines of the attempt's log, masked by the agent. */
  logSnippet?: string;
}

/** Failures of the node rather than the build: the attempt may be retried (see loseAttempt). */
export const RETRYABLE_REASONS: ReadonlySet<string> = new Set(['AgentLost', 'AgentShutdown']);

/**
 * Running → a terminal phase, reported by the agent that owns the attempt. Repeating the report
 * that ended the build (same attempt, agent and outcome) changes nothing and gets the build
 * back: its first write may have landed while its answer was lost (a NATS timeout during a
 * leader election, a coordinator that died before answering), and the agent retries it. So does
 * repeating the report that handed the attempt back (Error with a RETRYABLE_REASONS reason),
 * which gave the build its next attempt: it is the build's `previousAttempt`.
 * @throws StaleAttemptError for a report from another attempt or agent;
 *         BuildAlreadyTerminalError when the build ended otherwise (another outcome, a cancel,
 *         the deadline backstop).
 */
export function finish(build: Build, o: Outcome, now: Date): Build | undefined {
  if (recordsHandBack(build, o)) return undefined;
  requireAttempt(build, o.attempt);
  if (isTerminal(build.status.phase)) {
    if (recordsOutcome(build, o)) return undefined;
    throw new BuildAlreadyTerminalError(key(build), build.status.phase);
  }
  if (build.status.phase !== 'Running' || build.status.agent !== o.agent) {
    throw new StaleAttemptError(`build ${key(build)} attempt ${o.attempt} is not running on agent "${o.agent}"`);
  }
  if (o.phase === 'Cancelled' && !build.status.cancelRequested) {
    throw new InvalidInputError(
      [{ field: 'phase', message: 'Cancelled is only for a build whose cancel was requested' }],
      'report',
    );
  }
  if (o.phase === 'Error' && o.reason && RETRYABLE_REASONS.has(o.reason)) {
    return loseAttempt(build, o.reason, o.message ?? o.reason, now);
  }
  const stages = o.stages && o.stages.length > 0 ? o.stages : undefined;
  const finished: Build = {
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
      stages,
      logSnippet: o.phase === 'Complete' ? undefined : o.logSnippet || undefined,
      completionTimestamp: now.toISOString(),
    },
  };
  return withEvent(finished, ...finishEvents(o, stages, now));
}

/**
 * The events of a reported outcome: Started and (when it pushed) Pushed, at the times the agent
 * timed its stages, then the outcome itself.
 */
function finishEvents(o: Outcome, stages: BuildStage[] | undefined, now: Date): BuildEvent[] {
  const events: BuildEvent[] = [];
  const first = stages?.[0];
  if (first)
    events.push(
      buildEvent('Normal', 'Started', `attempt ${o.attempt} started on agent ${o.agent}`, first.startTimestamp),
    );
  if (o.phase === 'Complete' && o.output) {
    const push = stages?.find((s) => s.name === 'PushImage');
    const pushed = push ? new Date(Date.parse(push.startTimestamp) + push.durationMs) : now;
    events.push(buildEvent('Normal', 'Pushed', `pushed ${o.output.image}@${o.output.digest}`, pushed));
    events.push(
      buildEvent('Normal', 'Complete', `build complete${stages ? ` in ${describeStages(stages)}` : ''}`, now),
    );
    return events;
  }
  const what = `${o.reason ?? o.phase}${o.message ? `: ${o.message}` : ''}`;
  if (o.phase === 'Cancelled')
    events.push(buildEvent('Normal', 'Cancelled', 'cancelled while running; its agent stopped it', now));
  else if (o.reason === 'DeadlineExceeded') events.push(buildEvent('Warning', 'DeadlineExceeded', what, now));
  else events.push(buildEvent('Warning', o.phase, what, now));
  return events;
}

/** "12.3s (Build 10.1s)": the stages' total and the longest one. */
function describeStages(stages: BuildStage[]): string {
  const total = stages.reduce((sum, s) => sum + s.durationMs, 0);
  const longest = longestStage(stages)!;
  return `${(total / 1000).toFixed(1)}s (longest: ${longest.name} ${(longest.durationMs / 1000).toFixed(1)}s)`;
}

/** Whether `o` is the report that handed its attempt back and so gave the build its current attempt. */
function recordsHandBack(build: Build, o: Outcome): boolean {
  const p = build.status.previousAttempt;
  return (
    o.phase === 'Error' &&
    p !== undefined &&
    build.status.attempt === o.attempt + 1 &&
    p.attempt === o.attempt &&
    p.agent === o.agent &&
    p.reason === o.reason &&
    p.message === (o.message ?? o.reason)
  );
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
  // A build of several platforms runs nothing itself: it ends now, and the build controller
  // cancels its platforms' builds (they follow their parent).
  if (phase === 'Running' && !build.status.platforms) {
    if (build.status.cancelRequested) return undefined;
    return withEvent(
      { ...build, status: { ...build.status, cancelRequested: true } },
      buildEvent(
        'Normal',
        'CancelRequested',
        `cancel requested; agent ${build.status.agent ?? ''} is stopping the build`,
        now,
      ),
    );
  }
  const platforms = build.status.platforms ? "cancelled; its platforms' builds are cancelled" : undefined;
  return withEvent(
    {
      ...build,
      status: {
        ...build.status,
        phase: 'Cancelled',
        reason: 'Cancelled',
        message: platforms ?? 'cancelled before it ran',
        completionTimestamp: now.toISOString(),
        indexPush: undefined,
      },
    },
    buildEvent('Normal', 'Cancelled', platforms ?? `cancelled while ${phase}, before it ran`, now),
  );
}

/**
 * The running attempt is gone with its agent (it stopped heartbeating, restarted, or shut down
 * before finishing). With retries left the build gets a new attempt, which the controller
 * queues, and `status.previousAttempt` says how this one ended (it outlives the reason, which
 * placement replaces while the new attempt waits); otherwise it ends in Error. A build whose
 * cancel was requested just ends Cancelled.
 */
export function loseAttempt(build: Build, reason: string, message: string, now: Date): Build {
  if (build.status.phase !== 'Running')
    throw new StaleAttemptError(`build ${key(build)} is ${build.status.phase}, not Running`);
  const attempt = build.status.attempt;
  const lost = buildEvent(
    'Warning',
    'AttemptLost',
    `attempt ${attempt} on agent ${build.status.agent ?? ''} lost (${reason}): ${message}`,
    now,
  );
  if (build.status.cancelRequested) {
    return withEvent(
      {
        ...build,
        status: {
          ...build.status,
          phase: 'Cancelled',
          reason: 'Cancelled',
          message: `cancelled; ${message}`,
          completionTimestamp: now.toISOString(),
        },
      },
      lost,
      buildEvent('Normal', 'Cancelled', 'cancelled; its agent was gone before it stopped the build', now),
    );
  }
  const retries = build.spec.config.retries ?? 0;
  if (attempt <= retries) {
    return withEvent(
      {
        ...build,
        status: {
          phase: 'Pending',
          attempt: attempt + 1,
          reason,
          message: `attempt ${attempt}: ${message}; retrying (${attempt} of ${retries} retries used)`,
          // What happened to earlier attempts stays; only the new attempt's own fields start afresh.
          events: build.status.events,
          // The digests the first attempt resolved: every attempt builds from the same images.
          ...(build.status.sourceImages ? { sourceImages: build.status.sourceImages } : {}),
          // Kept in a field of its own: placement's waiting reason replaces `reason` as the new
          // attempt waits, and events roll off.
          previousAttempt: {
            attempt,
            reason,
            message,
            ...(build.status.agent ? { agent: build.status.agent } : {}),
            ...(build.status.node ? { node: build.status.node } : {}),
            completionTimestamp: now.toISOString(),
          },
        },
      },
      lost,
      buildEvent(
        'Normal',
        'Retrying',
        `retrying as attempt ${attempt + 1} (${attempt} of ${retries} retries used)`,
        now,
      ),
    );
  }
  return withEvent(
    { ...build, status: { ...build.status, phase: 'Error', reason, message, completionTimestamp: now.toISOString() } },
    lost,
    buildEvent('Warning', 'Error', `${reason}: ${message}${retries > 0 ? ` (all ${retries} retries used)` : ''}`, now),
  );
}

/** Ms left before a Running build's deadline; undefined when it has none or is not running. */
export function deadlineRemainingMs(build: Build, now: Date): number | undefined {
  const seconds = build.spec.config.completionDeadlineSeconds;
  if (!seconds || build.status.phase !== 'Running' || !build.status.startTimestamp) return undefined;
  return new Date(build.status.startTimestamp).getTime() + seconds * 1000 - now.getTime();
}

/** A Running build past its deadline whose agent did not stop it: Failed, DeadlineExceeded. */
export function expireDeadline(build: Build, now: Date): Build {
  const message = `still running ${build.spec.config.completionDeadlineSeconds}s after it started, and its agent did not stop it`;
  return withEvent(
    {
      ...build,
      status: {
        ...build.status,
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        message,
        completionTimestamp: now.toISOString(),
      },
    },
    buildEvent('Warning', 'DeadlineExceeded', message, now),
  );
}

/** Reason of a New build that its config's run policy holds back (Serial, SerialLatestOnly). */
export const WAITING_REASON = 'WaitingForPreviousBuild';
/** Reason of a queued build a newer one replaced (SerialLatestOnly). */
export const SUPERSEDED_REASON = 'Superseded';

/**
 * A New build held back by its config's run policy says which build it waits for. Undefined
 * when it already says so (the message is written only when it changes) or is past New.
 */
export function waitForBuild(build: Build, waitingFor: string, now: Date = new Date()): Build | undefined {
  if (build.status.phase !== 'New') return undefined;
  const message = `waiting for build ${waitingFor} to finish (run policy ${build.spec.config.runPolicy ?? 'Parallel'})`;
  if (build.status.reason === WAITING_REASON && build.status.message === message) return undefined;
  return withEvent(
    { ...build, status: { ...build.status, reason: WAITING_REASON, message } },
    buildEvent('Normal', WAITING_REASON, message, now),
  );
}

/**
 * New → Cancelled, reason Superseded: a newer build of the config runs instead
 * (SerialLatestOnly). A build past New is left alone: it was started, and only a cancel stops it.
 */
export function supersede(build: Build, newer: string, now: Date): Build | undefined {
  if (build.status.phase !== 'New') return undefined;
  const message = `superseded by newer build ${newer} (run policy SerialLatestOnly)`;
  return withEvent(
    {
      ...build,
      status: {
        ...build.status,
        phase: 'Cancelled',
        reason: SUPERSEDED_REASON,
        message,
        completionTimestamp: now.toISOString(),
      },
    },
    buildEvent('Normal', SUPERSEDED_REASON, message, now),
  );
}
