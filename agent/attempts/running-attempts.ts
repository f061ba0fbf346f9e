import { attemptKey, type AttemptRef } from '../jobs/claimed-build.js';

/** Why a running attempt was stopped before it finished. */
export type StopWhy = 'Cancelled' | 'Lost' | 'DeadlineExceeded' | 'AgentShutdown';

/** An attempt this agent runs now. */
export interface RunningAttempt {
  readonly ref: AttemptRef;
  /** Aborted to stop the build; `stopWhy` says why. */
  readonly abort: AbortController;
  /** Set once, by the first stop: what the failure reported for it says. */
  stopWhy?: StopWhy;
  /** Resolves once the attempt has ended and left the set. */
  readonly done: Promise<void>;
  /**
   * Whether the coordinator answered its final report (set once the run started): a second
   * delivery of its job ends the same way.
   */
  reported?: Promise<boolean>;
}

/**
 * The attempts this agent runs now, by `namespace/name/attempt`: what heartbeats advertise and
 * stop orders find, what the image GC keeps, what a redelivered job is checked against, and
 * what a stopping agent drains.
 */
export class RunningAttempts {
  private readonly byKey = new Map<string, { attempt: RunningAttempt; ended: () => void }>();

  /** Adds an attempt; it stays until `end`. */
  add(ref: AttemptRef): RunningAttempt {
    let ended!: () => void;
    const attempt: RunningAttempt = {
      ref,
      abort: new AbortController(),
      done: new Promise((resolve) => (ended = resolve)),
    };
    this.byKey.set(attemptKey(ref), { attempt, ended });
    return attempt;
  }

  /** The attempt has ended: it leaves the set and its `done` resolves. */
  end(attempt: RunningAttempt): void {
    const key = attemptKey(attempt.ref);
    const entry = this.byKey.get(key);
    if (entry?.attempt !== attempt) return;
    this.byKey.delete(key);
    entry.ended();
  }

  /** The running attempt `ref` names, if it runs here. */
  get(ref: AttemptRef): RunningAttempt | undefined {
    return this.byKey.get(attemptKey(ref))?.attempt;
  }

  /** Whether the attempt with this key (`namespace/name/attempt`) runs here. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Stops the attempt (aborts its build). The first reason given is the one reported; later stops do nothing. */
  stop(attempt: RunningAttempt, why: StopWhy): void {
    if (attempt.stopWhy) return;
    attempt.stopWhy = why;
    attempt.abort.abort();
  }

  /** Stops every running attempt. */
  stopAll(why: StopWhy): void {
    for (const { attempt } of this.byKey.values()) this.stop(attempt, why);
  }

  /** Resolves once every attempt running now has ended. */
  allEnded(): Promise<void> {
    return Promise.all([...this.byKey.values()].map(({ attempt }) => attempt.done)).then(() => undefined);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Their keys, `namespace/name/attempt`. */
  keys(): string[] {
    return [...this.byKey.keys()];
  }

  refs(): AttemptRef[] {
    return [...this.byKey.values()].map(({ attempt }) => attempt.ref);
  }
}
