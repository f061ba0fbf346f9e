import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal, type Build, type Versioned } from '../../api/types.js';
import { ConflictError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { AgentJobConsumer } from '../../common/nats/jobs.js';
import { agentOfSlotKey } from '../../common/nats/names.js';
import type { JsonStore } from '../store/json-store.js';
import type { AgentRecord } from './agent-registry.js';
import type { AgentSlotKeys, SlotKeyState } from './agent-slot-keys.js';

/** The job consumers of agents, as retention uses them (common/nats/jobs.ts on a real server). */
export interface AgentConsumers {
  /**
   * Removes the agent's job consumer; one already gone counts as removed.
   * @returns whether this call removed it (false: it was gone already).
   */
  remove(agent: string): Promise<boolean>;
  /** Makes the agent's job consumer if it is not there. */
  ensure(agent: string): Promise<void>;
  /** Every agent's job consumer, and when it was last active. */
  list(): Promise<AgentJobConsumer[]>;
}

/** What retention reads of the builds: the coordinator's build cache. */
export interface UnfinishedBuilds {
  /** Whether the cache has listed the bucket once (before that, a build placed anywhere may be missing). */
  readonly listedAll: boolean;
  unfinishedBuilds(): Iterable<[string, Versioned<Build>]>;
}

/** The builds: the cache, and the bucket for when the cache has not listed it all yet. */
export interface RetentionBuilds {
  cache: UnfinishedBuilds;
  store: Pick<JsonStore<Build>, 'list'>;
}

/** What of an agent a removal can leave behind: its job consumer, or one of its slot keys. */
export type AgentLeftover = 'consumer' | 'slot';

/** Where removals are counted (the coordinator's metrics). */
export interface AgentRemovalObserver {
  agentRemoved(agent: string): void;
  /** A job consumer or slot key whose agent's record was removed without it, removed now. */
  leftoverRemoved?(kind: AgentLeftover, agent: string): void;
}

export interface AgentRetentionOptions {
  /** An agent silent longer than this is forgotten (SLIPWAY_AGENT_RETENTION_MS); 0: never. */
  retentionMs: number;
  /** How often the records are looked at; by default a quarter of the retention, within 250 ms and 5 min. */
  intervalMs?: number;
  /**
   * How long a slot taken for a placement not seen written may still be in flight
   * (SLIPWAY_PLACEMENT_TIMEOUT_MS, AgentSlots' holdMs): a slot key written more recently is
   * never removed.
   */
  slotHoldMs: number;
  clock: () => Date;
  observer?: AgentRemovalObserver;
  log: Logger;
}

/**
 * Forgets agents gone for good: one silent longer than the retention, with no unfinished build
 * placed on it or run by it, loses its record in the agents bucket, its durable job consumer and
 * its slot keys (`<agent>/<slot>` in the slots bucket). Agents named after Pods get a new name
 * with every rollout; without this, all three pile up forever.
 *
 * Every coordinator sweeps, and exactly one removes each agent: the record is deleted at the
 * revision read (a compare-and-delete), so a coordinator that lost the race, or read a record
 * the agent has since replaced with a heartbeat, deletes nothing and counts nothing. The
 * consumer and slot keys go after the record: a coordinator that dies in between leaves them,
 * never a record without a consumer. Nothing names that agent again, so each sweep also looks
 * for such leftovers: consumers and slot keys of an agent with no record (checked on the
 * stream leader) and no unfinished build, idle longer than the retention, are removed and
 * counted apart (AgentRemovalObserver.leftoverRemoved).
 *
 * A slot key is removed only when that frees no capacity a placement still holds, so an agent
 * that comes back is never given more builds than its slots (see agent-slots.ts for how slots
 * are taken and freed). A slot is held by its placement while the build is placed on or running
 * on the agent, or, before that write is seen, for slotHoldMs after it was taken; past that,
 * AgentSlots.take already treats it as free and takes it over. Retention deletes a slot key
 * only (1) for an agent with no record and no unfinished build placed on or run by it, (2)
 * written longer than slotHoldMs ago (longer than the retention too, for a leftover), so that
 * the placement in it is one take() would take over anyway, and (3) at the revision read, so a
 * slot taken since (the agent came back and a placement took it) makes the delete fail and
 * stays. A placement that takes the slot after the delete creates the key afresh: still one
 * holder. Its deletion's marker is erased as well (by its sequence, so a newer value stays):
 * the bucket keeps nothing of an agent gone for good.
 */
export class AgentRetention {
  private readonly intervalMs: number;
  /** Agents whose consumer or slot keys the last sweep found with no record. */
  private recordless = new Set<string>();

  constructor(
    private readonly store: JsonStore<AgentRecord>,
    private readonly builds: RetentionBuilds,
    private readonly consumers: AgentConsumers,
    private readonly slots: AgentSlotKeys,
    private readonly o: AgentRetentionOptions,
  ) {
    this.intervalMs = o.intervalMs ?? Math.min(Math.max(o.retentionMs / 4, 250), 300_000);
  }

  /** Sweeps every interval until `signal` aborts; does nothing when retention is 0. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.o.retentionMs === 0) return;
    while (!signal.aborted) {
      await sleep(this.intervalMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      await this.sweep().catch((err: unknown) =>
        this.o.log.warn('agent retention: the sweep failed; trying again next interval', {
          error: errorMessage(err),
        }),
      );
    }
  }

  /**
   * Removes the agents gone for good, as of now, then what earlier removals left behind.
   * @returns the agents this coordinator removed (another's removals are not among them).
   */
  async sweep(): Promise<string[]> {
    if (this.o.retentionMs === 0) return [];
    const now = this.o.clock().getTime();
    const records = await this.store.list();
    const due = records
      .map(({ value, revision }) => ({ record: value, revision, silentMs: now - Date.parse(value.lastHeartbeat) }))
      .filter((a) => a.silentMs > this.o.retentionMs);
    let busy: Promise<Set<string>> | undefined;
    const busyAgents = () => (busy ??= this.agentsWithBuilds());
    const removed: string[] = [];
    for (const { record, revision, silentMs } of due) {
      if ((await busyAgents()).has(record.agent)) continue;
      if (await this.forget(record, revision, silentMs, now)) removed.push(record.agent);
    }
    const known = new Set([...records.map((r) => r.value.agent), ...removed]);
    await this.removeLeftovers(now, known, busyAgents);
    return removed;
  }

  /** Agents an unfinished build is placed on or run by. */
  private async agentsWithBuilds(): Promise<Set<string>> {
    // Until the cache has listed the bucket, a build placed on a silent agent may be missing
    // from it: then the bucket is read (only when an agent is due, which is rare).
    const unfinished = this.builds.cache.listedAll
      ? [...this.builds.cache.unfinishedBuilds()].map(([, e]) => e.value)
      : (await this.builds.store.list()).map((e) => e.value).filter((b) => !isTerminal(b.status.phase));
    const busy = new Set<string>();
    for (const b of unfinished) {
      if (b.status.placement?.agent) busy.add(b.status.placement.agent);
      if (b.status.agent) busy.add(b.status.agent);
    }
    return busy;
  }

  /** @returns whether this coordinator's delete removed the record. */
  private async forget(record: AgentRecord, revision: number, silentMs: number, now: number): Promise<boolean> {
    const { agent } = record;
    try {
      await this.store.delete(agent, revision);
    } catch (err) {
      // Removed by another coordinator, or the agent heartbeated since the read: either way, not ours.
      if (err instanceof ConflictError) return false;
      throw err;
    }
    this.o.observer?.agentRemoved(agent);
    this.o.log.info('agent gone for good: its record, job consumer and slot keys are removed', {
      agent,
      node: record.node,
      silentSeconds: Math.round(silentMs / 1000),
    });
    try {
      await this.consumers.remove(agent);
      // Back meanwhile (a heartbeat made the record again): a directory may have found the
      // consumer still there before it went. Made again here; one made after it went is untouched.
      if (await this.store.getLatest(agent)) await this.consumers.ensure(agent);
    } catch (err) {
      this.o.log.warn("agent retention: could not remove the agent's job consumer", {
        agent,
        error: errorMessage(err),
      });
    }
    try {
      // One written less than slotHoldMs ago (a placement in flight) stays, for a later sweep's leftovers.
      const keys = (await this.slots.keys()).filter((k) => agentOfSlotKey(k) === agent);
      for (const key of keys) await this.removeSlotKey(key, now - this.o.slotHoldMs);
    } catch (err) {
      this.o.log.warn("agent retention: could not remove the agent's slot keys", { agent, error: errorMessage(err) });
    }
    return true;
  }

  /**
   * Removes the job consumers and slot keys of agents with no record (not in `known` nor on the
   * stream leader, in this sweep and the one before) and no unfinished build, idle longer than
   * the retention: what a coordinator that stopped in the middle of a removal left behind.
   */
  private async removeLeftovers(now: number, known: Set<string>, busyAgents: () => Promise<Set<string>>) {
    const [consumers, slotKeys] = await Promise.all([this.consumers.list(), this.slots.keys()]);
    const left = new Map<string, { consumer?: AgentJobConsumer; keys: string[] }>();
    const of = (agent: string) => left.get(agent) ?? left.set(agent, { keys: [] }).get(agent)!;
    for (const c of consumers) if (!known.has(c.agent)) of(c.agent).consumer = c;
    for (const key of slotKeys) {
      const agent = agentOfSlotKey(key);
      if (agent !== undefined && !known.has(agent)) of(agent).keys.push(key);
    }
    // Only those found so by the sweep before too: another coordinator may be in the middle of
    // removing an agent whose record just went, and that removal is not a leftover.
    const previously = this.recordless;
    this.recordless = new Set(left.keys());
    for (const agent of left.keys()) if (!previously.has(agent)) left.delete(agent);
    if (left.size === 0) return;
    const busy = await busyAgents();
    const before = now - Math.max(this.o.retentionMs, this.o.slotHoldMs);
    for (const [agent, { consumer, keys }] of left) {
      // The listing may come from a replica that is behind: a record just made (a new agent, or
      // one back) is on the leader.
      if (busy.has(agent) || (await this.store.getLatest(agent))) continue;
      if (consumer && consumer.activeAt < now - this.o.retentionMs && (await this.consumers.remove(agent))) {
        this.leftoverRemoved('consumer', agent, { idleSeconds: Math.round((now - consumer.activeAt) / 1000) });
        // Back meanwhile: as in forget.
        if (await this.store.getLatest(agent)) await this.consumers.ensure(agent);
      }
      for (const key of keys) {
        const removed = await this.removeSlotKey(key, before);
        if (removed)
          this.leftoverRemoved('slot', agent, { slot: key, idleSeconds: Math.round((now - removed.at) / 1000) });
      }
    }
  }

  /**
   * Removes the slot key if it was last written before `before`.
   * @returns the placement's slot it removed; undefined also when only a deletion's marker was
   * erased (the tail of a removal: another coordinator's, perhaps at this moment), which is not
   * counted.
   */
  private async removeSlotKey(key: string, before: number): Promise<SlotKeyState | undefined> {
    const state = await this.slots.read(key);
    if (!state || state.at >= before) return undefined;
    return (await this.slots.remove(state)) && state.held ? state : undefined;
  }

  private leftoverRemoved(kind: AgentLeftover, agent: string, details: Record<string, unknown>): void {
    this.o.observer?.leftoverRemoved?.(kind, agent);
    this.o.log.info(`agent retention: removed a ${kind === 'consumer' ? 'job consumer' : 'slot key'} left behind`, {
      agent,
      ...details,
    });
  }
}
