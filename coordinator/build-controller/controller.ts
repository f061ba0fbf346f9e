import { AlreadyExistsError, ConflictError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { objectKey } from '../../common/nats/names.js';
import { isTerminal, type Build, type Versioned } from '../../api/types.js';
import { configKey, type BuildCache, type BuildChange } from '../store/build-cache.js';
import type { AgentLeases } from '../agents/agent-leases.js';
import {
  buildsPlatforms,
  completeWithIndex,
  failIndexPush,
  fanOut,
  followPlatforms,
  platformBuild,
  platformBuildGone,
  takeIndexPush,
  type PlatformBuilds,
} from '../builds/platform-builds.js';
import { PlatformIndexError } from '../builds/platform-index.js';
import {
  assignAttempt,
  cancel,
  deadlineRemainingMs,
  expireDeadline,
  loseAttempt,
  markQueued,
  supersede,
  waitForBuild,
} from '../builds/transitions.js';
import type { TransitionObserver } from '../builds/transition-observer.js';
import type { Reservation } from '../placement/scheduler.js';
import { buildNumber, decideRun, type RunDecision, type RunPolicyView } from './run-policy.js';
import type { RunSlots } from './run-slot.js';
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
  /**
   * Called on every change the cache's watch brings, once the cache holds it and the controller
   * has queued its work: placement's cue to look again.
   */
  onChange?: () => void;
  /**
   * Placement for a build the controller queues (scheduler.placeNow): a placement to write with
   * it, or undefined to leave it queued for a pass.
   */
  placeNow?: (key: string, queued: Build) => Promise<Reservation | undefined>;
  /** Called (by every coordinator; it must be idempotent) when a build is seen terminal. */
  onTerminal?: (build: Build) => Promise<void>;
  /** Told of the builds this controller ends (lost attempts, deadlines), once each across coordinators. */
  observer?: TransitionObserver;
  /**
   * The run slots of Serial and SerialLatestOnly configs (run-slot.ts): a build those policies
   * would start leaves New only once it holds its config's slot. Undefined: the view alone
   * decides (one coordinator is then safe; several may start two builds of a config at once).
   */
  runSlots?: RunSlots;
  /** Builds of several platforms (builds/platform-builds.ts); undefined: they stay New. */
  platforms?: PlatformOptions;
  log: Logger;
  clock?: () => Date;
}

/** What the controller needs to drive builds of several platforms. */
export interface PlatformOptions {
  /** This coordinator, as it records that it pushes an index. */
  coordinator: string;
  /** Pushes the parent's index (every platform complete) and answers what was pushed. @throws PlatformIndexError */
  pushIndex: (parent: Build) => Promise<{ image: string; digest: string }>;
  /** Another coordinator's index push older than this is taken over (it stopped meanwhile). */
  takeOverAfterMs: number;
  /** The uid of a platform build it creates. */
  newUid: () => string;
}

/**
 * How long past its deadline a Running build may go before the controller fails it itself. The
 * agent stops a build at its deadline and reports it; this is for an agent that cannot (hung, cut
 * off from NATS but not yet lost), long enough that a working agent's own report comes first.
 */
export const DEADLINE_BACKSTOP_MS = 30_000;

export function defaultBuildControllerOptions(log: Logger): BuildControllerOptions {
  return {
    workers: 4,
    resyncIntervalMs: 30_000,
    leaseCheckIntervalMs: 2000,
    deadlineBackstopMs: DEADLINE_BACKSTOP_MS,
    log,
  };
}

/**
 * The sync loop that drives builds. It is told of every change the build cache
 * (store/build-cache.ts) watches in the Build bucket, queues the keys of builds that changed,
 * and for each key compares the build with what should happen next:
 *
 *   New                      → by the config's run policy (run-policy.ts): wait (a status
 *                              message naming the build waited for), end Superseded, or
 *                              assign the next attempt, phase Pending (compare-and-set)
 *   Pending, not yet queued  → record queuedTimestamp: the attempt waits for placement, which
 *                              the scheduler (placement/scheduler.ts) does on the same cache
 *   Running                  → checked every lease interval until it ends: an attempt whose
 *                              agent is gone gets a new attempt (retries) or ends AgentLost;
 *                              one far past its deadline ends DeadlineExceeded
 *
 * Several coordinators may run this at once on the same builds: every write is a
 * compare-and-set, so only one wins each step.
 *
 * Like a client-go controller, it syncs from what the cache has seen (and what it wrote
 * itself), not from a fresh read: the store is read again only after a write lost its
 * compare-and-set. A build whose watched state asks nothing of the controller (queued, or
 * Running with its lease checked on a timer) is not synced on every change.
 */
export class BuildController {
  private readonly queue = new WorkQueue();
  /** Per config, the newest build seen to have left New (ended ones included); see RunPolicyView. */
  private readonly newestStarted = new Map<string, { name: string; number: number }>();
  private readonly clock: () => Date;

  /** Subscribes to `cache` at once, as a client-go controller adds its event handler; the cache's run() feeds it. */
  constructor(
    private readonly cache: BuildCache,
    private readonly leases: AgentLeases,
    private readonly options: BuildControllerOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    cache.subscribe({ listed: () => this.queueHeldBack(), changed: (change) => this.take(change) });
  }

  /** Runs the workers until `signal` aborts; resolves once they have stopped. The cache runs on its own. */
  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.queue.shutdown();
    signal.addEventListener('abort', stop, { once: true });
    const resync = setInterval(() => {
      for (const [k] of this.cache.unfinishedBuilds()) this.queue.add(k);
    }, this.options.resyncIntervalMs);
    resync.unref();
    try {
      await Promise.all(Array.from({ length: this.options.workers }, () => this.work()));
    } finally {
      clearInterval(resync);
      signal.removeEventListener('abort', stop);
      this.queue.shutdown();
    }
  }

  /** The cache has listed every build: the New builds held back until now (their first sync may start them). */
  private queueHeldBack(): void {
    for (const [k, e] of this.cache.unfinishedBuilds()) if (e.value.status.phase === 'New') this.queue.add(k);
  }

  /** Queues what a change the cache took in asks of the controller. */
  private take({ key, build, before }: BuildChange): void {
    if (build) this.noteStarted(build);
    this.queueRelatives(build ?? before);
    const gone = build ?? before;
    if (gone && (!build || isTerminal(build.status.phase))) this.options.runSlots?.noteEnded(gone);
    if (build && !isTerminal(build.status.phase)) {
      const phase = build.status.phase;
      if (phase === 'Running') this.queue.addAfter(key, this.options.leaseCheckIntervalMs);
      else if (phase === 'New' || !build.status.queuedTimestamp) this.queue.add(key);
      // A build that left New changes what its config's queued builds may do (SerialLatestOnly
      // supersedes the older ones).
      if (before && before.status.phase !== phase) this.queueWaiting(build);
    } else {
      // Its lease check is of no use now; made, it would read the store for a build no longer held.
      this.queue.cancelDelayed(key);
      // One build of the config fewer running or queued: the next may start.
      const ended = build ?? before;
      if (ended) this.queueWaiting(ended);
      if (before && build && this.options.onTerminal) {
        this.options
          .onTerminal(build)
          .catch((err) =>
            this.options.log.warn('clean-up after a finished build failed', { build: key, error: errorMessage(err) }),
          );
      }
    }
    // After the cache has the change: a placement pass starts at once, on what it reads now.
    this.options.onChange?.();
  }

  /**
   * A platform build's change is its parent's news; a parent's end is its platform builds'
   * (those not ended are cancelled).
   */
  private queueRelatives(build: Build | undefined): void {
    if (!build) return;
    const { namespace } = build.metadata;
    if (build.spec.parent) this.queue.add(objectKey(namespace, build.spec.parent));
    if (build.status.platforms && isTerminal(build.status.phase))
      for (const p of build.status.platforms) if (!isTerminal(p.phase)) this.queue.add(objectKey(namespace, p.build));
  }

  private async work(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        await this.sync(key);
        this.queue.forget(key);
      } catch (err) {
        if (err instanceof ConflictError) this.cache.markStale(key);
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
    let current = await this.cache.read(key);
    if (!current) return;
    let build: Build = current.value;

    // A platform build whose parent ended (failed, cancelled) or is gone is of no more use.
    if (build.spec.parent && !isTerminal(build.status.phase)) {
      const parent = await this.cache.read(objectKey(build.metadata.namespace, build.spec.parent));
      if (!parent || isTerminal(parent.value.status.phase)) {
        const cancelled = cancel(build, this.clock());
        if (cancelled) {
          const revision = await this.cache.update(key, cancelled, current.revision);
          if (isTerminal(cancelled.status.phase)) this.options.observer?.finished(cancelled);
          this.log(build).info('platform build cancelled: its parent ended', { parent: build.spec.parent });
          current = { value: cancelled, revision };
          build = cancelled;
        }
        if (build.status.phase !== 'Running') return;
      }
    }

    if (build.status.platforms) {
      if (build.status.phase === 'Running') await this.syncPlatforms(key, current);
      return;
    }

    if (build.status.phase === 'Running') {
      const now = this.clock();
      const lost = await this.leases.lost(build);
      const remaining = deadlineRemainingMs(build, now);
      let next: Build | undefined;
      if (lost) next = loseAttempt(build, lost.reason, lost.message, now);
      else if (remaining !== undefined && remaining < -this.options.deadlineBackstopMs)
        next = expireDeadline(build, now);
      if (!next) {
        this.queue.addAfter(key, this.options.leaseCheckIntervalMs);
        return;
      }
      const revision = await this.cache.update(key, next, current.revision);
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
      const policed = (build.spec.config.runPolicy ?? 'Parallel') !== 'Parallel';
      // Queued again once the watch's listing is complete.
      if (policed && !this.cache.listedAll) return;
      // A Parallel build starts whatever its siblings do: their view is not gathered for it.
      const { view, seen } = policed ? await this.runPolicyView(build) : { view: { siblings: [] }, seen: new Map() };
      let decision: RunDecision = decideRun(build, view);
      // Across coordinators, the one the config's record names runs: taken by compare-and-set.
      // One that holds it already starts whatever this view says (run-slot.ts, holds).
      if (policed && this.options.runSlots?.holds(build)) {
        // Still waiting for a build that started without the slot (a Parallel one from before
        // the policy changed), never for a queued one.
        const active = view.siblings.find((s) => s.status.phase !== 'New' && !isTerminal(s.status.phase));
        if (decision.action !== 'start' && !active) decision = { action: 'start', supersede: [] };
      } else if (policed && decision.action === 'start' && this.options.runSlots) {
        const slot = await this.options.runSlots.take(build);
        if (slot.action !== 'start') decision = slot;
      }
      if (decision.action === 'wait') {
        const waiting = waitForBuild(build, decision.waitingFor, this.clock());
        if (waiting) {
          await this.cache.update(key, waiting, current.revision);
          this.log(build).info('build waits for an earlier one', { waitingFor: decision.waitingFor });
        }
        // The build it waits for ending queues this one again (queueWaiting); one not created
        // yet does not, so the slot asks for a retry.
        if (decision.retryMs !== undefined) this.queue.addAfter(key, decision.retryMs);
        return;
      }
      if (decision.action === 'supersede') {
        const superseded = supersede(build, decision.newer, this.clock())!;
        await this.cache.update(key, superseded, current.revision);
        this.options.observer?.finished(superseded);
        this.log(build).info('build superseded', { newer: decision.newer });
        return;
      }
      // SerialLatestOnly: the older queued builds end before this one starts, each by a
      // compare-and-set on that build at the revision this coordinator saw. Another coordinator
      // that meanwhile started one of them (a view without this newer build) has moved it to
      // another revision, so the supersede fails, and this build is synced again and waits for it.
      // Conversely, once one is superseded here, no coordinator can start it. Either way only one
      // build of the config runs.
      for (const older of decision.supersede) {
        const olderKey = objectKey(older.metadata.namespace, older.metadata.name);
        const revision = seen.get(olderKey);
        const superseded = supersede(older, build.metadata.name, this.clock());
        if (revision === undefined || !superseded) continue;
        await this.cache.update(olderKey, superseded, revision);
        this.options.observer?.finished(superseded);
        // Its terminal revision comes through the watch; until then read it from the store.
        this.cache.markStale(olderKey);
        this.log(older).info('build superseded', { newer: build.metadata.name });
      }
      if (buildsPlatforms(build)) {
        if (!this.options.platforms) return;
        const running = fanOut(build, this.clock())!;
        const revision = await this.cache.update(key, running, current.revision);
        this.noteStarted(running);
        this.log(build).info('build of several platforms started', {
          platforms: running.status.platforms!.map((p) => p.platform),
        });
        await this.syncPlatforms(key, { value: running, revision });
        return;
      }
      // Pending and queued in one write; placed on an agent in it too when placement has one
      // free for it now (nothing else waiting).
      const queued = markQueued(assignAttempt(build)!, build.status.attempt + 1, this.clock())!;
      const placement = await this.options.placeNow?.(key, queued);
      const next = placement?.build ?? queued;
      let revision: number;
      try {
        revision = await this.cache.update(key, next, current.revision);
      } catch (err) {
        // Only a write that surely lost gives the slot back; one whose answer was lost may have landed.
        placement?.release(err);
        throw err;
      }
      current = { value: next, revision };
      build = next;
      this.noteStarted(build);
      this.log(build).info('build pending', { phase: 'Pending', queued: true });
      if (placement) await placement.landed();
    }

    if (build.status.phase === 'Pending' && !build.status.queuedTimestamp) {
      const queued = markQueued(build, build.status.attempt, this.clock());
      if (queued) {
        await this.cache.update(key, queued, current.revision);
        this.log(build).info('build queued');
      }
    }
  }

  /**
   * A Running build of several platforms: its platform builds created where missing (a
   * coordinator may have stopped between its start and their creation), their state copied in,
   * and once all completed, its index pushed (by the one coordinator that recorded it pushes it)
   * and the build Complete. Its lease check (every leaseCheckIntervalMs while Running) repeats
   * this, in case a platform build's change was missed.
   */
  private async syncPlatforms(key: string, current: Versioned<Build>): Promise<void> {
    const platforms = this.options.platforms;
    if (!platforms) return;
    const parent = current.value;
    const { namespace } = parent.metadata;
    const children: PlatformBuilds = [];
    for (const p of parent.status.platforms ?? []) {
      // An ended platform build changes no more: what the parent recorded of it stands.
      if (isTerminal(p.phase)) {
        children.push(undefined);
        continue;
      }
      const childKey = objectKey(namespace, p.build);
      let child = (await this.cache.read(childKey))?.value;
      if (!child && p.phase === 'New') {
        const made = platformBuild(parent, p.platform, platforms.newUid(), this.clock());
        try {
          await this.cache.create(childKey, made);
          this.options.observer?.created(made);
          child = made;
          this.log(parent).info('platform build created', { platform: p.platform, platformBuild: p.build });
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw err;
          // Another coordinator made it just now, or it was made and deleted.
          child = (await this.cache.read(childKey))?.value;
        }
      }
      if (!child) {
        const ended = platformBuildGone(parent, p, this.clock())!;
        await this.cache.update(key, ended, current.revision);
        this.options.observer?.finished(ended);
        return;
      }
      children.push(child);
    }
    const { next, complete } = followPlatforms(parent, children, this.clock());
    if (next) {
      const revision = await this.cache.update(key, next, current.revision);
      if (isTerminal(next.status.phase)) {
        this.options.observer?.finished(next);
        this.log(parent).info('build of several platforms ended', {
          phase: next.status.phase,
          reason: next.status.reason,
        });
        return;
      }
      current = { value: next, revision };
    }
    if (complete) await this.pushIndex(key, current, platforms);
    else this.queue.addAfter(key, this.options.leaseCheckIntervalMs);
  }

  /** Records that this coordinator pushes the index, pushes it, and ends the build with it. */
  private async pushIndex(key: string, current: Versioned<Build>, o: PlatformOptions): Promise<void> {
    const taken = takeIndexPush(current.value, o.coordinator, this.clock(), o.takeOverAfterMs);
    if (!taken) {
      // Another coordinator pushes it; if it stops, this one takes over.
      this.queue.addAfter(key, o.takeOverAfterMs);
      return;
    }
    const revision = await this.cache.update(key, taken, current.revision);
    let next: Build;
    try {
      const index = await o.pushIndex(taken);
      next = completeWithIndex(taken, index, this.clock());
    } catch (err) {
      if (!(err instanceof PlatformIndexError)) throw err;
      next = failIndexPush(taken, err.reason, `pushing the image index failed: ${err.message}`, this.clock());
    }
    await this.cache.update(key, next, revision);
    this.options.observer?.finished(next);
    this.log(taken).info('build of several platforms ended', {
      phase: next.status.phase,
      index: next.status.output?.digest,
      reason: next.status.reason,
    });
  }

  /** Records a build that has left New (it holds an attempt) as its config's newest started, if it is. */
  private noteStarted(build: Build): void {
    const number = buildNumber(build);
    if (number === undefined || build.status.attempt === 0) return;
    const config = configKey(build);
    const known = this.newestStarted.get(config);
    if (!known || known.number < number) this.newestStarted.set(config, { name: build.metadata.name, number });
  }

  /** Queues the config's New builds: one of them may start, or be superseded, now. */
  private queueWaiting(changed: Build): void {
    for (const k of this.cache.unfinishedOfConfig(changed)) {
      if (this.cache.get(k)?.value.status.phase === 'New') this.queue.add(k);
    }
  }

  /**
   * The other unfinished builds of the build's config as this coordinator knows them (with the
   * revisions known): the watch's state, or the store's for those whose last write here lost a
   * compare-and-set or that this coordinator just ended. Why deciding on it is safe although it
   * may be behind the store, and other coordinators decide at the same time on theirs:
   * - Once the watch's listing is complete (`listedAll`), changes come in the bucket's order, and
   *   builds are created in number order (run-policy.ts), so every build created before this one
   *   is in the view: a Serial build never misses an older one it must wait for.
   * - A build never goes back to New and an ended one stays ended: a stale view may show a
   *   build as not ended that has (the waiting build is queued again when the watch brings the
   *   end), never as ended one that has not.
   * - Every step is a compare-and-set on the build it changes at the revision this view holds:
   *   starting this build; superseding an older one. Two coordinators deciding differently on
   *   the same build cannot both write it; the loser reads the store and decides again.
   */
  private async runPolicyView(build: Build): Promise<{ view: RunPolicyView; seen: Map<string, number> }> {
    const siblings: Build[] = [];
    const seen = new Map<string, number>();
    for (const k of this.cache.unfinishedOfConfig(build)) {
      if (k === objectKey(build.metadata.namespace, build.metadata.name)) continue;
      const entry = this.cache.isStale(k) ? await this.cache.read(k) : this.cache.get(k);
      if (!entry) continue;
      siblings.push(entry.value);
      seen.set(k, entry.revision);
    }
    return { view: { siblings, newestStarted: this.newestStarted.get(configKey(build)) }, seen };
  }

  private log(build: Build): Logger {
    return this.options.log.child({
      build: `${build.metadata.namespace}/${build.metadata.name}`,
      attempt: build.status.attempt,
    });
  }
}
