import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal, type Build, type Versioned } from '../../api/types.js';
import { ConflictError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { JsonStore } from '../store/json-store.js';
import type { AgentRecord } from './agent-registry.js';

/** The job consumers of agents, as retention uses them (common/nats/jobs.ts on a real server). */
export interface AgentConsumers {
  /** Removes the agent's job consumer; one already gone counts as removed. */
  remove(agent: string): Promise<void>;
  /** Makes the agent's job consumer if it is not there. */
  ensure(agent: string): Promise<void>;
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

/** Where removals are counted (the coordinator's metrics). */
export interface AgentRemovalObserver {
  agentRemoved(agent: string): void;
}

export interface AgentRetentionOptions {
  /** An agent silent longer than this is forgotten (SLIPWAY_AGENT_RETENTION_MS); 0: never. */
  retentionMs: number;
  /** How often the records are looked at; by default a quarter of the retention, within 250 ms and 5 min. */
  intervalMs?: number;
  clock: () => Date;
  observer?: AgentRemovalObserver;
  log: Logger;
}

/**
 * Forgets agents gone for good: one silent longer than the retention, with no unfinished build
 * placed on it or run by it, loses its record in the agents bucket and its durable job consumer.
 * Agents named after Pods get a new name with every rollout; without this, both pile up forever.
 *
 * Every coordinator sweeps, and exactly one removes each agent: the record is deleted at the
 * revision read (a compare-and-delete), so a coordinator that lost the race, or read a record
 * the agent has since replaced with a heartbeat, deletes nothing and counts nothing. The
 * consumer goes after the record: a coordinator that dies between the two leaves the consumer
 * (nothing then names it again), never a record without a consumer.
 */
export class AgentRetention {
  private readonly intervalMs: number;

  constructor(
    private readonly store: JsonStore<AgentRecord>,
    private readonly builds: RetentionBuilds,
    private readonly consumers: AgentConsumers,
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
   * Removes the agents gone for good, as of now.
   * @returns the agents this coordinator removed (another's removals are not among them).
   */
  async sweep(): Promise<string[]> {
    if (this.o.retentionMs === 0) return [];
    const now = this.o.clock().getTime();
    const due = (await this.store.list())
      .map(({ value, revision }) => ({ record: value, revision, silentMs: now - Date.parse(value.lastHeartbeat) }))
      .filter((a) => a.silentMs > this.o.retentionMs);
    if (due.length === 0) return [];
    const busy = await this.agentsWithBuilds();
    const removed: string[] = [];
    for (const { record, revision, silentMs } of due) {
      if (busy.has(record.agent)) continue;
      if (await this.forget(record, revision, silentMs)) removed.push(record.agent);
    }
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
  private async forget(record: AgentRecord, revision: number, silentMs: number): Promise<boolean> {
    const { agent } = record;
    try {
      await this.store.delete(agent, revision);
    } catch (err) {
      // Removed by another coordinator, or the agent heartbeated since the read: either way, not ours.
      if (err instanceof ConflictError) return false;
      throw err;
    }
    this.o.observer?.agentRemoved(agent);
    this.o.log.info('agent gone for good: its record and job consumer are removed', {
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
    return true;
  }
}
