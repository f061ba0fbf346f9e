import type { Build, Versioned } from '../../api/types.js';
import { NO_LOAD, requests, shapeKey, type Load } from './placement.js';
import { NO_NAMESPACE_POLICY, type UnprivilegedPolicy } from './unprivileged-policy.js';

/** Waiting builds of one namespace and shape, in the order they were queued. */
export interface WaitingGroup {
  namespace: string;
  shape: string;
  builds: Map<string, Versioned<Build>>;
}

/**
 * What placement needs of the builds the build cache holds, kept up to date as the cache's
 * state of each build changes (a watch event, or a write of this coordinator): the queued builds
 * waiting for an agent, the placed ones not yet claimed, and what each agent's placed and running
 * builds take. A placement pass then looks at the builds it may act on, not at every unfinished
 * build (Running ones, the most, only count towards their agent's load).
 */
export class PlacementIndex {
  /** Queued and not placed: the candidates, by key. */
  readonly waiting = new Map<string, Versioned<Build>>();
  /**
   * The same, grouped by namespace and shape (shapeKey: the builds that can go to the same
   * agents), each group in the order its builds were queued here (a build keeps its place while
   * it waits, whatever is written to it): a pass that only places takes the first few of each
   * group whose agents have room, instead of ordering every waiting build.
   */
  readonly waitingGroups = new Map<string, WaitingGroup>();
  /** The group each waiting build is in. */
  private readonly groupOf = new Map<string, string>();
  /** Placed, not yet claimed, by key. */
  readonly placed = new Map<string, Versioned<Build>>();
  private readonly loads = new Map<string, Load>();
  /** Slots taken on all agents together. */
  totalSlots = 0;
  /** Each build's part of its agent's load, to take back when it changes. */
  private readonly parts = new Map<string, { agent: string; cpuMillis: number; memoryBytes: number }>();

  /** @param policy which builds must run in a user namespace: part of a build's shape. */
  constructor(private readonly policy: UnprivilegedPolicy = NO_NAMESPACE_POLICY) {}

  /** The cache now holds `entry` for `key` (undefined: nothing, the build ended or was deleted). */
  held(key: string, entry: Versioned<Build> | undefined): void {
    const part = this.parts.get(key);
    if (part) {
      this.add(part.agent, -1, -part.cpuMillis, -part.memoryBytes);
      this.parts.delete(key);
    }
    const s = entry?.value.status;
    const waits = !!s && s.phase === 'Pending' && !!s.queuedTimestamp && !s.placement;
    if (!waits) this.stopWaiting(key);
    this.placed.delete(key);
    if (!entry || !s) return;
    const agent = s.phase === 'Running' ? s.agent : s.phase === 'Pending' ? s.placement?.agent : undefined;
    if (agent) {
      const r = requests(entry.value);
      this.parts.set(key, { agent, ...r });
      this.add(agent, 1, r.cpuMillis, r.memoryBytes);
    }
    if (waits) {
      this.waiting.set(key, entry);
      // A build's shape is its frozen spec's: it does not change while it waits.
      let group = this.groupOf.get(key);
      if (!group) {
        const shape = shapeKey(entry.value, this.policy);
        this.groupOf.set(key, (group = `${entry.value.metadata.namespace}|${shape}`));
        if (!this.waitingGroups.has(group))
          this.waitingGroups.set(group, { namespace: entry.value.metadata.namespace, shape, builds: new Map() });
      }
      // Map.set keeps a key's place: a build written while it waits stays where it was.
      this.waitingGroups.get(group)!.builds.set(key, entry);
    } else if (s.phase === 'Pending' && s.queuedTimestamp) this.placed.set(key, entry);
  }

  private stopWaiting(key: string): void {
    if (!this.waiting.delete(key)) return;
    const group = this.groupOf.get(key)!;
    this.groupOf.delete(key);
    const builds = this.waitingGroups.get(group)!.builds;
    builds.delete(key);
    if (builds.size === 0) this.waitingGroups.delete(group);
  }

  /** What the builds placed on and running on `agent` take. */
  load(agent: string): Load {
    return this.loads.get(agent) ?? NO_LOAD;
  }

  private add(agent: string, slots: number, cpuMillis: number, memoryBytes: number): void {
    this.totalSlots += slots;
    const l = this.loads.get(agent) ?? NO_LOAD;
    const next = {
      slots: l.slots + slots,
      cpuMillis: l.cpuMillis + cpuMillis,
      memoryBytes: l.memoryBytes + memoryBytes,
    };
    if (next.slots === 0) this.loads.delete(agent);
    else this.loads.set(agent, next);
  }
}
