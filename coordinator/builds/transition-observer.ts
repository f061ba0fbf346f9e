import type { Build } from '../../api/types.js';

/**
 * Told of a build's transitions by the code whose compare-and-set made them, so each is told
 * once across all coordinators however many run: a build's creation by the StartBuild that
 * created it, its start by the claim that took it, its end by the agent's report, the cancel
 * or the controller's lease or deadline decision that ended it. (A watch of the Build bucket
 * would tell every coordinator.) Calls must not throw and must not block.
 */
export interface TransitionObserver {
  /** A new build was stored (phase New). */
  created(build: Build): void;
  /** Pending → Running: an agent's claim was accepted (repeats of the same claim are not). */
  started(build: Build): void;
  /** The build reached a terminal phase (Complete, Failed, Error, Cancelled). */
  finished(build: Build): void;
}

/** Observes nothing: for callers that keep no metrics. */
export const IGNORE_TRANSITIONS: TransitionObserver = { created() {}, started() {}, finished() {} };
