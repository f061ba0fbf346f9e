import { ConflictError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { BuildJob } from '../../common/nats/names.js';
import { isTerminal, type Build, type Versioned } from '../api/types.js';
import type { StateStore } from '../store/state-store.js';
import type { AgentLeases } from '../agents/agent-leases.js';
import { assignAttempt, deadlineRemainingMs, expireDeadline, loseAttempt, markQueued } from '../builds/transitions.js';
import type { TransitionObserver } from '../builds/transition-observer.js';
import { WorkQueue } from './work-queue.js';

export interface BuildControllerOptions {
  /** Keys synced at once. */
  workers: number;
  /** Every unfinished build is synced again this often, in case an event was missed. */
  resyncIntervalMs: number;
  /** A Running build's lease is checked this often. */
  leaseCheckIntervalMs: number;
  /**
   * How long past its deadline a Running build may go before the controller fails it itself:
   * the agent normally stops it at the deadline; this covers an agent that cannot.
   */
  deadlineBackstopMs: number;
  /** Called (by every coordinator; it must be idempotent) when a build is seen terminal. */
  onTerminal?: (build: Build) => Promise<void>;
  /** Told of the builds this controller ends (lost attempts, deadlines), once each across coordinators. */
  observer?: TransitionObserver;
  log: Logger;
  clock?: () => Date;
}

export function defaultBuildControllerOptions(log: Logger): BuildControllerOptions {
  return { workers: 4, resyncIntervalMs: 30_000, leaseCheckIntervalMs: 2000, deadlineBackstopMs: 30_000, log };
}

/** Puts a job on the work queue; publishing the same attempt twice must queue it once. */
export type PublishJob = (job: BuildJob) => Promise<unknown>;

/**
 * The sync loop that drives builds. It watches the Build bucket, queues the keys of builds
 * that changed, and for each key compares the build with what should happen next:
 *
 *   New                      → assign the next attempt, phase Pending (compare-and-set)
 *   Pending, not yet queued  → publish the attempt's job, then record queuedTimestamp
 *   Running                  → checked every lease interval until it ends: an attempt whose
 *                              agent is gone gets a new attempt (retries) or ends AgentLost;
 *                              one far past its deadline ends DeadlineExceeded
 *
 * Several coordinators may run this at once on the same builds: every write is a
 * compare-and-set, so only one wins each step, and the job's de-duplication id
 * (`namespace/build/attempt`) makes a repeated publish a no-op.
 *
 * Like a client-go controller, it syncs from what its watch has seen (and what it wrote
 * itself), not from a fresh read: the store is read again only after a write lost its
 * compare-and-set. A build whose watched state asks nothing of the controller (queued, or
 * Running with its lease checked on a timer) is not synced on every change.
 */
export class BuildController {
  private readonly queue = new WorkQueue();
  /** Builds not yet terminal, by key, at the newest revision seen: what resyncs go over. */
  private readonly unfinished = new Map<string, Versioned<Build>>();
  /** Keys whose last write lost a compare-and-set: their next sync reads the store. */
  private readonly stale = new Set<string>();
  private readonly clock: () => Date;

  constructor(
    private readonly store: StateStore,
    private readonly publish: PublishJob,
    private readonly leases: AgentLeases,
    private readonly options: BuildControllerOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Runs until `signal` aborts. Resolves once the watch and the workers have stopped. */
  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.queue.shutdown();
    signal.addEventListener('abort', stop, { once: true });
    const resync = setInterval(() => {
      for (const k of this.unfinished.keys()) this.queue.add(k);
    }, this.options.resyncIntervalMs);
    resync.unref();
    try {
      const workers = Array.from({ length: this.options.workers }, () => this.work());
      await Promise.all([this.watch(signal), ...workers]);
    } finally {
      clearInterval(resync);
      signal.removeEventListener('abort', stop);
      this.queue.shutdown();
    }
  }

  private async watch(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const event of this.store.builds.watch({ signal })) {
          if (event.value && !isTerminal(event.value.status.phase)) {
            this.remember(event.key, { value: event.value, revision: event.revision });
            const phase = event.value.status.phase;
            if (phase === 'Running') this.queue.addAfter(event.key, this.options.leaseCheckIntervalMs);
            else if (phase === 'New' || !event.value.status.queuedTimestamp) this.queue.add(event.key);
          } else {
            this.stale.delete(event.key);
            const wasUnfinished = this.unfinished.delete(event.key);
            if (wasUnfinished && event.value && this.options.onTerminal) {
              this.options.onTerminal(event.value).catch((err) =>
                this.options.log.warn('clean-up after a finished build failed', { build: event.key, error: errorMessage(err) }),
              );
            }
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        this.options.log.warn('build watch failed; restarting', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async work(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        await this.sync(key);
        this.queue.forget(key);
      } catch (err) {
        if (err instanceof ConflictError) this.stale.add(key);
        else this.options.log.warn('sync failed; will retry', { build: key, error: errorMessage(err) });
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  /**
   * One convergence step for one build. Safe to repeat at any point: each write names the
   * revision it read, and the publish is de-duplicated by attempt.
   */
  async sync(key: string): Promise<void> {
    let current = await this.read(key);
    if (!current) return;
    let build: Build = current.value;

    if (build.status.phase === 'Running') {
      const now = this.clock();
      const lost = await this.leases.lost(build);
      const remaining = deadlineRemainingMs(build, now);
      let next: Build | undefined;
      if (lost) next = loseAttempt(build, lost.reason, lost.message, now);
      else if (remaining !== undefined && remaining < -this.options.deadlineBackstopMs) next = expireDeadline(build, now);
      if (!next) {
        this.queue.addAfter(key, this.options.leaseCheckIntervalMs);
        return;
      }
      const revision = await this.write(key, next, current.revision);
      // Only the coordinator whose compare-and-set landed gets here: the others lost it (ConflictError).
      if (isTerminal(next.status.phase)) this.options.observer?.finished(next);
      this.log(build).warn(lost ? 'attempt lost' : 'deadline passed without the agent stopping the build', {
        phase: next.status.phase,
        reason: next.status.reason,
        message: next.status.message,
      });
      current = { value: next, revision };
      build = next;
    }

    if (build.status.phase === 'New') {
      const next = assignAttempt(build)!;
      const revision = await this.write(key, next, current.revision);
      current = { value: next, revision };
      build = next;
      this.log(build).info('build pending', { phase: 'Pending' });
    }

    if (build.status.phase === 'Pending' && !build.status.queuedTimestamp) {
      const job: BuildJob = {
        namespace: build.metadata.namespace,
        build: build.metadata.name,
        attempt: build.status.attempt,
        nodeSelector: build.spec.config.nodeSelector,
      };
      // Publish before recording it: a crash in between leaves an unqueued Pending build that the
      // next sync publishes again, and the stream drops that copy as a duplicate.
      await this.publish(job);
      const queued = markQueued(build, build.status.attempt, this.clock());
      if (queued) {
        await this.write(key, queued, current.revision);
        this.log(build).info('build queued');
      }
    }
  }

  /** The newest state seen of a build: the watch's (or our own write's), or the store's after a lost write. */
  private async read(key: string): Promise<Versioned<Build> | undefined> {
    const seen = this.unfinished.get(key);
    if (seen && !this.stale.has(key)) return seen;
    const stored = await this.store.builds.get(key);
    // An ended or deleted build stays stale until the watch reports it and it is forgotten.
    if (stored && !isTerminal(stored.value.status.phase)) {
      this.stale.delete(key);
      this.remember(key, stored);
    }
    return stored;
  }

  private async write(key: string, next: Build, revision: number): Promise<number> {
    const written = await this.store.builds.update(key, next, revision);
    this.remember(key, { value: next, revision: written });
    return written;
  }

  /** Keeps the newer of what is known and `entry`; a terminal build is no longer the controller's. */
  private remember(key: string, entry: Versioned<Build>): void {
    if (isTerminal(entry.value.status.phase)) {
      // The watch reports it, and runs onTerminal, when the terminal revision arrives.
      return;
    }
    const known = this.unfinished.get(key);
    if (!known || entry.revision > known.revision) this.unfinished.set(key, entry);
  }

  private log(build: Build): Logger {
    return this.options.log.child({ build: `${build.metadata.namespace}/${build.metadata.name}`, attempt: build.status.attempt });
  }
}
