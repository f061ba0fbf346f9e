import { objectKey } from '../../common/nats/names.js';
import { isTerminal, type Build, type BuildConfig } from '../../api/types.js';
import { configKey, type BuildCache } from '../store/build-cache.js';
import type { ConfigCache } from '../store/config-cache.js';
import type { JsonStore } from '../store/json-store.js';
import { buildNumber, type RunDecision } from './run-policy.js';

/**
 * How long a build number taken by StartBuild may go without its build existing before a newer
 * Serial build stops waiting for it: StartBuild creates the build right after taking the number,
 * so only a coordinator that died in between (the number is then skipped) takes longer.
 */
export const CREATE_GRACE_MS = 10_000;
/** A Serial build waiting for a taken number's build to appear is synced again after this long. */
export const CREATE_RETRY_MS = 250;
/** Numbers below a Serial build checked for builds not seen yet when its config has no slot holder. */
export const GAP_WINDOW = 16;
/** Names of ended builds remembered per config: the holder of the slot is nearly always among them. */
const ENDED_KEPT = 16;

/** Whether a build the run policy let start may leave New now, by its config's run slot. */
export type SlotAnswer =
  /** The slot is this build's (taken now, or already). */
  | { action: 'start' }
  /**
   * Stay New until `waitingFor` ends (or, with `retryMs`, appears or is given up); or, when a
   * newer build already holds the slot (SerialLatestOnly), end this one Superseded.
   */
  | Extract<RunDecision, { action: 'wait' | 'supersede' }>;

/**
 * The per-config run slot of Serial and SerialLatestOnly configs: `status.runSlot` on the
 * config's record, naming the build the policy last let leave New. A build leaves New only
 * once it holds the slot, and takes it by compare-and-set on the config (the record StartBuild
 * numbers builds through), so two coordinators whose watches differ cannot both start a build
 * of one config: one compare-and-set wins, the other reads the record and sees a holder that has
 * not ended.
 *
 * The slot also keeps Serial builds in number order when two StartBuilds race and the lower
 * number's create lands after the higher's: a build waits for the numbers between the holder's
 * and its own whose builds do not exist yet, for up to CREATE_GRACE_MS from its own creation.
 *
 * When the config is gone (deleted, with builds still queued), there is no record to hold the
 * slot, and the build starts on the controller's view alone, as before the slot existed.
 *
 * Cost per build: one compare-and-set on the config (from the config cache: no read) in the
 * usual case, where the holder is the build before, whose end this coordinator's watch has seen
 * and whose number is the one before. A holder or a number in between not seen is read from the
 * stream leader, once.
 */
export class RunSlots {
  /** Per config, names of builds this coordinator's watch has seen end, newest last. */
  private readonly ended = new Map<string, string[]>();
  private readonly clock: () => Date;

  constructor(
    private readonly configs: ConfigCache,
    private readonly cache: BuildCache,
    private readonly builds: JsonStore<Build>,
    clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  /** Records a build the watch has seen end (or be deleted), so that a holder's end costs no read. */
  noteEnded(build: Build): void {
    // Only builds under these policies take the slot (or are waited for as a number in between).
    if ((build.spec.config.runPolicy ?? 'Parallel') === 'Parallel') return;
    const config = configKey(build);
    const names = this.ended.get(config) ?? [];
    if (!names.includes(build.metadata.name)) names.push(build.metadata.name);
    if (names.length > ENDED_KEPT) names.shift();
    this.ended.set(config, names);
  }

  /**
   * Whether `build` holds its config's slot, as the config cache shows (no read). A holder that
   * has not ended keeps it (only its end lets another take it), so a build that took it and then
   * failed to leave New (a lost write, a coordinator that died) must leave New whatever its view
   * says now: a build waiting for it would otherwise wait for a build that waits for it.
   */
  holds(build: Build): boolean {
    return this.configs.get(configKey(build))?.value.status.runSlot?.build === build.metadata.name;
  }

  /**
   * Takes the slot of `build`'s config for it (a New build of a Serial or SerialLatestOnly
   * config that its run policy would start), or says what it must do instead.
   */
  async take(build: Build): Promise<SlotAnswer> {
    const n = buildNumber(build);
    if (n === undefined) return { action: 'start' };
    const key = configKey(build);
    const mine = { build: build.metadata.name, number: n };
    let held = this.configs.get(key)?.value.status.runSlot;
    // Each round judges the slot as last seen; the compare-and-set takes it only if the record
    // still names that holder. A round lost to another taker judges the new holder.
    for (;;) {
      const verdict = await this.judge(build, n, held);
      if (verdict) return verdict;
      const judged = held;
      const result = await this.configs.mutate(key, (c: BuildConfig) => {
        const now = c.status.runSlot;
        if (now?.build === mine.build || !sameSlot(now, judged)) return undefined;
        return { ...c, status: { ...c.status, runSlot: mine } };
      });
      // No config: nothing to hold the slot; the view decided.
      if (!result) return { action: 'start' };
      const after = result.value.status.runSlot;
      if (after?.build === mine.build) return { action: 'start' };
      held = after;
    }
  }

  /** Undefined when the slot is free for `build` (its holder has ended, no earlier build is due); else the answer. */
  private async judge(
    build: Build,
    n: number,
    slot: { build: string; number: number } | undefined,
  ): Promise<SlotAnswer | undefined> {
    if (slot?.build === build.metadata.name) return { action: 'start' };
    const latestOnly = build.spec.config.runPolicy === 'SerialLatestOnly';
    if (slot && latestOnly && slot.number > n) return { action: 'supersede', newer: slot.build };
    if (slot && !(await this.hasEnded(build, slot.build))) return { action: 'wait', waitingFor: slot.build };
    if (latestOnly) return undefined;
    // Serial: the numbers taken before this one whose builds have not been seen must come first.
    const low = slot ? slot.number : Math.max(0, n - 1 - GAP_WINDOW);
    for (let m = low + 1; m < n; m++) {
      const name = `${build.spec.configName}-${m}`;
      const due = await this.due(build, name);
      if (due) return due;
    }
    return undefined;
  }

  /** Whether build `name` of `build`'s config has ended (a build never seen and not stored counts as ended). */
  private async hasEnded(build: Build, name: string): Promise<boolean> {
    const key = objectKey(build.metadata.namespace, name);
    if (this.cache.get(key) && !this.cache.isStale(key)) return false;
    if (this.ended.get(configKey(build))?.includes(name)) return true;
    const stored = await this.cache.read(key);
    return !stored || isTerminal(stored.value.status.phase);
  }

  /** What `build` must wait for before the earlier number `name`, if anything. */
  private async due(build: Build, name: string): Promise<SlotAnswer | undefined> {
    const key = objectKey(build.metadata.namespace, name);
    if (this.cache.get(key)) return { action: 'wait', waitingFor: name };
    if (this.ended.get(configKey(build))?.includes(name)) return undefined;
    const stored = await this.cache.read(key);
    if (stored) return isTerminal(stored.value.status.phase) ? undefined : { action: 'wait', waitingFor: name };
    // Never created, or deleted. A number just taken whose create has not landed yet is waited
    // for; one older than the grace was skipped (its coordinator died between the two writes).
    const age = this.clock().getTime() - new Date(build.metadata.creationTimestamp).getTime();
    if (age >= CREATE_GRACE_MS || (await this.builds.wasDeleted(key))) return undefined;
    return { action: 'wait', waitingFor: name, retryMs: CREATE_RETRY_MS };
  }
}

function sameSlot(a: { build: string } | undefined, b: { build: string } | undefined): boolean {
  return a?.build === b?.build;
}
