import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentRecord } from '../agents/agent-registry.js';
import type { StoreEvent } from '../store/json-store.js';

const SAME_ON_EVERY_COORDINATOR = 'every coordinator shows the same: aggregate with max, not sum';

/**
 * What the agents said in their last heartbeats (the `slipway_agents` bucket), per agent. The
 * names start `slipway_agents_` (the fleet as the coordinators know it) to keep them apart from
 * the agent's own `slipway_agent_*` metrics. Running builds, capacity and cache figures are
 * shown for live agents only (a heartbeat within the agent grace period): a dead agent's last
 * words would otherwise stay on every dashboard. Every coordinator watches the same bucket, so
 * all of these are the same on every coordinator.
 */
export class AgentRecordMetrics {
  private readonly agents = new Map<string, AgentRecord>();

  constructor(
    registry: Registry,
    /** How long an agent may be silent and still count as live (SLIPWAY_AGENT_GRACE_MS). */
    graceMs: number,
    clock: () => Date,
  ) {
    const all = () => [...this.agents.values()];
    const isLive = (a: AgentRecord, now: number) => now - Date.parse(a.lastHeartbeat) <= graceMs;
    const live = () => {
      const now = clock().getTime();
      return all().filter((a) => isLive(a, now));
    };
    const gauge = (name: string, help: string, value: (a: AgentRecord) => number | undefined) =>
      new Gauge({
        name,
        help: `${help} (live agents; ${SAME_ON_EVERY_COORDINATOR}).`,
        labelNames: ['agent'],
        registers: [registry],
        collect(this: Gauge<'agent'>) {
          this.reset();
          for (const a of live()) {
            const v = value(a);
            if (v !== undefined) this.set({ agent: a.agent }, v);
          }
        },
      });
    // Counters the agent keeps: the coordinator passes on its last figure (reset, then that figure).
    const counter = (name: string, help: string, value: (a: AgentRecord) => number | undefined) =>
      new Counter({
        name,
        help: `${help}, as the agent last reported it; it starts from 0 again when the agent restarts (live agents; ${SAME_ON_EVERY_COORDINATOR}).`,
        labelNames: ['agent'],
        registers: [registry],
        collect(this: Counter<'agent'>) {
          this.reset();
          for (const a of live()) {
            const v = value(a);
            if (v !== undefined) this.inc({ agent: a.agent }, Math.max(0, v));
          }
        },
      });

    new Gauge({
      name: 'slipway_agents_live',
      help: `1 for an agent whose last heartbeat is within the grace period, 0 for one silent longer (${SAME_ON_EVERY_COORDINATOR}).`,
      labelNames: ['agent'],
      registers: [registry],
      collect(this: Gauge<'agent'>) {
        this.reset();
        const now = clock().getTime();
        for (const a of all()) this.set({ agent: a.agent }, isLive(a, now) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'slipway_agents_last_heartbeat_timestamp_seconds',
      help: `When a coordinator last heard the agent, in seconds since the epoch (${SAME_ON_EVERY_COORDINATOR}).`,
      labelNames: ['agent'],
      registers: [registry],
      collect(this: Gauge<'agent'>) {
        this.reset();
        for (const a of all()) this.set({ agent: a.agent }, Date.parse(a.lastHeartbeat) / 1000);
      },
    });
    gauge(
      'slipway_agents_running_builds',
      'Builds the agent runs now, as its last heartbeat said',
      (a) => a.running.length,
    );
    gauge('slipway_agents_capacity', 'Builds the agent runs at once at most (its concurrency)', (a) => a.capacity);
    gauge(
      'slipway_agents_image_bytes',
      "Bytes of images on the agent's Docker daemon at its last image GC round",
      (a) => a.cache?.imageBytes,
    );
    counter(
      'slipway_agents_gc_reclaimed_bytes_total',
      "Bytes the agent's image GC freed",
      (a) => a.cache?.gcReclaimedBytes,
    );
    counter(
      'slipway_agents_node_cache_hits_total',
      "Blob pulls its node's cache served from storage",
      (a) => a.cache?.nodeCacheHits,
    );
    counter(
      'slipway_agents_node_cache_misses_total',
      "Blob pulls its node's cache fetched from the upstream",
      (a) => a.cache?.nodeCacheMisses,
    );
  }

  /** A change the agents bucket's watch saw. */
  watched(event: StoreEvent<AgentRecord>): void {
    if (event.value) this.agents.set(event.key, event.value);
    else this.agents.delete(event.key);
  }
}
