import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { AgentRecord } from '../agents/agent-registry.js';
import type { JsonStore } from '../store/json-store.js';

/**
 * Every agent's latest heartbeat, kept by a watch of the agents bucket: what placement reads on
 * each pass, without a listing of the bucket each time.
 */
export class AgentDirectory {
  /**
   * Each agent's latest heartbeat and its time in ms, and since when its current run (instance)
   * has been heard: 0 when that run was already there as this coordinator started watching.
   */
  private readonly agents = new Map<string, { record: AgentRecord; at: number; instanceSince: number }>();
  /** Agents whose job consumer this coordinator has made sure of. */
  private readonly prepared = new Set<string>();
  private changes = 0;

  constructor(
    private readonly store: JsonStore<AgentRecord>,
    private readonly hooks: {
      /** Something placement depends on changed. */
      onChange: () => void;
      /** An agent this coordinator has not prepared yet heartbeated: make its job consumer (idempotent). */
      prepare: (agent: string) => Promise<void>;
    },
    private readonly log: Logger,
  ) {}

  /** Follows the bucket until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const event of this.store.watch({ signal })) {
          this.changes++;
          if (event.value) {
            const at = Date.parse(event.value.lastHeartbeat);
            const before = this.agents.get(event.key);
            const instanceSince =
              before?.record.instance === event.value.instance
                ? before.instanceSince
                : before || !event.replaying
                  ? at
                  : 0;
            this.agents.set(event.key, { record: event.value, at, instanceSince });
            this.prepareOnce(event.value.agent);
          } else {
            // Forgotten (agent retention removed its record and consumer): if it comes back,
            // its consumer must be made again.
            this.agents.delete(event.key);
            this.prepared.delete(event.key);
          }
          if (!event.replaying) this.hooks.onChange();
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn('agents watch failed; restarting', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private prepareOnce(agent: string): void {
    if (this.prepared.has(agent)) return;
    this.prepared.add(agent);
    this.hooks.prepare(agent).catch((err: unknown) => {
      // Tried again on its next heartbeat.
      this.prepared.delete(agent);
      this.log.warn("could not make the agent's job consumer", { agent, error: errorMessage(err) });
    });
  }

  /**
   * The agent's latest heartbeat (ms) and since when its current run has been heard (ms; 0: since
   * before this coordinator watched), or undefined for an agent never heard.
   */
  heard(agent: string): { at: number; instanceSince: number } | undefined {
    const a = this.agents.get(agent);
    return a && { at: a.at, instanceSince: a.instanceSince };
  }

  /** Counts the heartbeats (and forgotten agents) seen: what `liveUntil` answers changes only with it, or with time. */
  get version(): number {
    return this.changes;
  }

  /**
   * Agents that heartbeated within `graceMs` of `now`, and until when that holds with no
   * heartbeat coming (ms): the first of them to fall silent then (Infinity when none is live).
   */
  liveUntil(now: number, graceMs: number): { agents: AgentRecord[]; until: number } {
    const agents: AgentRecord[] = [];
    let until = Infinity;
    for (const a of this.agents.values())
      if (now - a.at <= graceMs) {
        agents.push(a.record);
        until = Math.min(until, a.at + graceMs + 1);
      }
    return { agents, until };
  }
}
