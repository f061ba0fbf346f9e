import { statfs } from 'node:fs/promises';
import { errorMessage } from '../../common/errors.js';
import { canonicalImage } from '../../common/image-reference.js';
import type { Logger } from '../../common/log.js';
import { LABELS } from '../build-runner.js';
import type { ContainerRuntime, ContainerSummary, ImageRecord } from '../container-runtime/types.js';
import type { WarmSet } from '../warm-set.js';
import type { BuildCacheGuard } from './build-cache-guard.js';
import type { ImagesInUse } from './images-in-use.js';
import { daemonHeldBytes, gcLevels, type GcLevels, type Threshold } from './thresholds.js';

export interface GcPolicy {
  /** Collection starts when usage is above this... */
  high: Threshold;
  /** ...and removes images until usage is at most this. Same kind as `high`. */
  low: Threshold;
  /** Images and stopped containers younger than this (since created or last used) stay. */
  minAgeMs: number;
  /** Images (references or ids) never removed. */
  pinned: string[];
  /**
   * For percentage thresholds: what they are of. `capacityBytes`: that many bytes, against
   * everything the daemon holds (`system df`; a private daemon on a volume of that size).
   * Otherwise the filesystem at `filesystem` (default the daemon's data root), against its
   * used blocks. Byte thresholds take neither: usage is image layers plus BuildKit's cache.
   */
  capacityBytes?: number;
  filesystem?: string;
}

/** The daemon to collect on, and whether everything on it is Slipway's (a private daemon). */
export interface GcTarget {
  runtime: ContainerRuntime;
  ownsDaemon: boolean;
}

export type GcTrigger = 'periodic' | 'pressure';

/** What one collection found and did. */
export interface GcRound {
  trigger: GcTrigger;
  /** Usage, high and low in bytes (see `GcPolicy.capacityBytes` for what usage counts). */
  usageBefore: number;
  usageAfter: number;
  high: number;
  low: number;
  reclaimedBytes: number;
  imagesRemoved: number;
  containersRemoved: number;
  /**
   * Everything the daemon holds by `system df` at the end of the round (layers, containers'
   * writable layers, build cache, volumes): what the agent reports as its daemon's images,
   * whatever `usageAfter` counts (with filesystem thresholds that is the whole disk's use).
   */
  daemonBytes: number;
  /** Entries of the warm set (configs and images) forgotten because their images are gone. */
  warmForgotten: number;
  /**
   * Build-cache prunes the round left for a later one (0 to 2): builds were sending their
   * contexts for all of `ImageGcOptions.pruneWaitMs` (see build-cache-guard.ts).
   */
  buildCachePrunesSkipped: number;
}

/** Where a collector reports rounds (the agent's Prometheus metrics). */
export interface GcObserver {
  observe(round: GcRound): void;
}

export interface ImageGcOptions {
  policy: GcPolicy;
  /** How often a round runs on its own; rounds also run on pressure (after each build). */
  intervalMs: number;
  /** The daemon to collect on now; undefined when there is none (per-build private daemons). */
  target: () => GcTarget | undefined;
  images: ImagesInUse;
  /** Whether a container or an image with these labels belongs to a build this agent is running. */
  isRunning: (labels: Record<string, string>) => boolean;
  /** The guard the agent's builds hold while they send their contexts: prunes run under it. */
  buildCache: BuildCacheGuard;
  /**
   * How long a prune waits for builds sending their contexts before the round goes on without
   * it (default `PRUNE_WAIT_MS`).
   */
  pruneWaitMs?: number;
  observer?: GcObserver;
  /**
   * What the agent advertises as warm: after a round that removed images, and after each
   * periodic round (images may go by other hands), what the daemon no longer has is forgotten,
   * before the round ends (so the next heartbeat no longer names it).
   */
  warm?: WarmSet;
  log: Logger;
  now?: () => number;
}

const STOPPED = new Set(['created', 'exited', 'dead']);

/**
 * How long a build-cache prune waits for a moment when no build is sending its context. A
 * context takes as long as its upload (seconds for most, longer for big ones); a round that
 * waited this long leaves BuildKit's cache to the next one rather than hold new builds back.
 */
export const PRUNE_WAIT_MS = 10_000;

/**
 * The node's image garbage collector, after the kubelet's: when disk usage is above the high
 * threshold, it removes images, oldest (by creation or last use) first, until usage is at the
 * low threshold. It only removes what Slipway made (images labelled by a build, or anything on
 * a private daemon), never a pinned image, an image a running build uses, or one a container
 * uses, and nothing younger than the minimum age. Stopped build containers go every round.
 */
export class ImageGarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<GcRound | undefined> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ImageGcOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.collect('periodic'), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.current;
  }

  /**
   * Runs a round, or joins the one running. Never throws: a failed round is logged.
   * @returns what the round did; undefined when there was no daemon or the round failed.
   */
  collect(trigger: GcTrigger): Promise<GcRound | undefined> {
    this.current ??= this.round(trigger)
      .catch((err: unknown) => {
        this.o.log.warn('image garbage collection failed', { trigger, error: errorMessage(err) });
        return undefined;
      })
      .finally(() => (this.current = undefined));
    return this.current;
  }

  private async round(trigger: GcTrigger): Promise<GcRound | undefined> {
    const target = this.o.target();
    if (!target) return undefined;
    const { runtime } = target;
    const containersRemoved = await this.removeStoppedContainers(target);
    const before = await this.measure(runtime);
    let last = before;
    const round: Omit<GcRound, 'daemonBytes'> = {
      trigger,
      usageBefore: before.used,
      usageAfter: before.used,
      high: before.high,
      low: before.low,
      reclaimedBytes: 0,
      imagesRemoved: 0,
      containersRemoved,
      warmForgotten: 0,
      buildCachePrunesSkipped: 0,
    };
    if (before.used > before.high) {
      // BuildKit's cache first, what has gone unused for the minimum age, as for images: a build
      // starting now has records younger than that that it is about to use, on the node's daemon
      // and on a private one alike. Its uploaded context, whatever the age, the guard keeps.
      if (!(await this.pruneBuildCache(runtime))) round.buildCachePrunesSkipped++;
      last = await this.measure(runtime);
      let used = last.used;
      const present = (await runtime.diskUsage()).images.map((i) => i.id);
      const candidates = await this.candidates(target);
      while (used > before.low && candidates.length > 0) {
        // Remove until the estimate says enough, then measure: shared layers make estimates loose.
        let estimate = 0;
        while (estimate < used - before.low && candidates.length > 0) {
          const image = candidates.shift()!;
          if (await removeImage(runtime, image, () => this.keptTags())) estimate += image.size - image.sharedSize;
        }
        last = await this.measure(runtime);
        used = last.used;
      }
      // Counted on the daemon: removing an image also removes the untagged parents only it used.
      const left = new Set((await runtime.diskUsage()).images.map((i) => i.id));
      if (present.some((id) => !left.has(id))) {
        // The build steps' records the removed images held (their layers) are unused now.
        if (!(await this.pruneBuildCache(runtime))) round.buildCachePrunesSkipped++;
        last = await this.measure(runtime);
        used = last.used;
      }
      // Measured, prune included: every measure counts BuildKit's cache.
      const reclaimed = Math.max(0, before.used - used);
      Object.assign(round, {
        usageAfter: used,
        reclaimedBytes: reclaimed,
        imagesRemoved: present.filter((id) => !left.has(id)).length,
      });
    }
    if (this.o.warm && (round.imagesRemoved > 0 || trigger === 'periodic')) {
      // Asked of the daemon, not worked out from what this round removed: a removal also takes
      // untagged parents, and references name images in more ways than their tags.
      round.warmForgotten = await this.o.warm.forgetMissing(
        async (ref) => (await runtime.inspectImage(ref)) !== undefined,
      );
    }
    // One more `system df` only when the last measure was of the filesystem's blocks.
    const done: GcRound = { ...round, daemonBytes: last.held ?? daemonHeldBytes(await runtime.diskUsage()) };
    if (done.imagesRemoved + done.containersRemoved > 0 || before.used > before.high) {
      this.o.log.info('image garbage collection', { ...done });
    }
    this.o.observer?.observe(done);
    return done;
  }

  /**
   * Prunes BuildKit's cache that went unused for the minimum age, once no build of this agent is
   * sending its context (a build's context is a record no one holds for a moment: a prune then
   * takes it, whatever its age; see build-cache-guard.ts). @returns false when builds kept it
   * waiting too long and it did not run.
   */
  private async pruneBuildCache(runtime: ContainerRuntime): Promise<boolean> {
    const waitMs = this.o.pruneWaitMs ?? PRUNE_WAIT_MS;
    const pruned = await this.o.buildCache.whilePruning(
      () => runtime.pruneBuildCache({ unusedForMs: this.o.policy.minAgeMs }),
      waitMs,
    );
    if (!pruned.ran) {
      this.o.log.info('build cache prune left for a later round: builds were sending their contexts', {
        waitedMs: pruned.waitedMs,
        builds: pruned.loading,
      });
    }
    return pruned.ran;
  }

  /** Usage and thresholds in bytes; `held`: all the daemon holds, when the measure read `system df`. */
  private async measure(runtime: ContainerRuntime): Promise<GcLevels & { held?: number }> {
    const { high, low, capacityBytes, filesystem } = this.o.policy;
    if ('bytes' in high) {
      const df = await runtime.diskUsage();
      return { ...gcLevels({ high, low }, df.layersBytes + df.buildCacheBytes), held: daemonHeldBytes(df) };
    }
    if (capacityBytes !== undefined) {
      const held = daemonHeldBytes(await runtime.diskUsage());
      return { ...gcLevels({ high, low }, held, capacityBytes), held };
    }
    const fs = await statfs(filesystem ?? (await runtime.dataRoot()));
    return gcLevels({ high, low }, (fs.blocks - fs.bfree) * fs.bsize, fs.blocks * fs.bsize);
  }

  /** Stopped containers of builds (any on a private daemon) that no running build of this agent owns. */
  private async removeStoppedContainers(target: GcTarget): Promise<number> {
    const all: ContainerSummary[] = await target.runtime.listContainers(
      target.ownsDaemon ? {} : { [LABELS.build]: true },
    );
    const doomed = all.filter(
      (c) => STOPPED.has(c.state) && this.now() - c.created >= this.o.policy.minAgeMs && !this.o.isRunning(c.labels),
    );
    let removed = 0;
    for (const c of doomed) {
      try {
        await target.runtime.removeContainer(c.id);
        removed++;
      } catch (err) {
        this.o.log.warn('could not remove a stopped build container', { container: c.id, error: errorMessage(err) });
      }
    }
    return removed;
  }

  /**
   * Tags never removed, canonical (see `tagKey`): the pinned references and those running builds
   * hold. Kept by name as well as by id: a build's output is tagged when its build ends, which
   * can fall between the round's look at the references and its list of images.
   */
  private keptTags(): Set<string> {
    return new Set([...this.o.policy.pinned, ...this.o.images.references()].map(tagKey));
  }

  /** Images the round may remove, oldest first. */
  private async candidates(target: GcTarget): Promise<ImageRecord[]> {
    const { runtime } = target;
    const idOf = async (ref: string) => (await runtime.inspectImage(ref).catch(() => undefined))?.id;
    const kept = new Set<string>();
    for (const ref of [...this.o.policy.pinned, ...this.o.images.references()]) {
      const id = await idOf(ref);
      if (id) kept.add(id);
    }
    this.o.images.forgetOlderThan(this.o.policy.minAgeMs);
    const lastUse = new Map<string, number>();
    for (const [ref, at] of this.o.images.lastUse()) {
      const id = await idOf(ref);
      if (id) lastUse.set(id, Math.max(at, lastUse.get(id) ?? 0));
    }
    const age = (i: ImageRecord) => Math.max(i.created, lastUse.get(i.id) ?? 0);
    const keptTags = this.keptTags();
    return (
      (await runtime.diskUsage()).images
        .filter((i) => target.ownsDaemon || i.labels[LABELS.build] !== undefined)
        // A running build's output is kept by its labels too: it is written before it is tagged.
        .filter(
          (i) => !kept.has(i.id) && !i.tags.some((tag) => keptTags.has(tagKey(tag))) && !this.o.isRunning(i.labels),
        )
        .filter((i) => i.containers === 0 && this.now() - age(i) >= this.o.policy.minAgeMs)
        .sort((a, b) => age(a) - age(b))
    );
  }
}

/**
 * Removes every tag of the image, then the image itself; none while one of its tags is kept
 * (asked again before each removal: a tag is removed by name, and a build that holds it may
 * have put it on its new image since the image was listed). @returns whether it is gone.
 */
async function removeImage(
  runtime: ContainerRuntime,
  image: ImageRecord,
  keptTags: () => Set<string>,
): Promise<boolean> {
  for (const tag of image.tags) {
    if (keptTags().has(tagKey(tag))) return false;
    if ((await runtime.removeImage(tag)) === 'in-use') return false;
  }
  return (await runtime.removeImage(image.id)) !== 'in-use';
}

/** A reference's tag as compared: canonical (`docker.io/library/busybox:latest`); as given when it is not a reference. */
function tagKey(reference: string): string {
  const c = canonicalImage(reference);
  return typeof c === 'string' ? reference : `${c.registry}/${c.repository}:${c.tag}`;
}
