import type { Build } from '../../api/types.js';
import { sleepUnlessAborted } from '../../common/sleep.js';
import type { AgentRegistry } from './agent-registry.js';

export interface LostAttempt {
  reason: 'AgentLost';
  message: string;
}

/** The instance part of a claim id (`agent/instance/sequence`). */
export function claimInstance(claimId: string | undefined): string | undefined {
  return claimId?.split('/')[1];
}

/**
 * Decides whether a Running build's agent still holds it: the agent must have heartbeated
 * within `graceMs`, and be the same run of the agent that claimed it.
 *
 * Silence only counts while this coordinator could have heard: for `graceMs` after it starts,
 * after it reconnects to NATS (`listening`), and after its own process stood still (`run`),
 * nobody is declared lost, since heartbeats sent meanwhile may not have been recorded.
 */
export class AgentLeases {
  private listeningSince: number;
  private lastTick: number;

  /**
   * `stall`: watch this process for stalls (`run`, `tick`); without it none is noticed (tests
   * that drive the clock themselves).
   */
  constructor(
    private readonly registry: AgentRegistry,
    readonly graceMs: number,
    private readonly clock: () => Date,
    private readonly stall?: { tickMs: number; onStall?: (lateMs: number) => void },
  ) {
    this.listeningSince = this.lastTick = clock().getTime();
  }

  /** Heartbeats could not be recorded until now (a NATS reconnect, a stall): start the grace again. */
  listening(): void {
    this.listeningSince = this.clock().getTime();
  }

  /** Ticks every `stall.tickMs` until `signal` aborts (nothing without `stall`). */
  async run(signal: AbortSignal): Promise<void> {
    if (!this.stall) return;
    this.lastTick = this.clock().getTime();
    while (!signal.aborted) {
      await sleepUnlessAborted(this.stall.tickMs, signal);
      this.tick();
    }
  }

  /**
   * Whether the process stood still since the last tick: a tick more than `graceMs / 3` later
   * than `tickMs` after the one before means it did (a long collection, a throttled or stopped
   * container, a starved machine) and heard no heartbeat meanwhile, so the grace starts again.
   * `lost` ticks first too: after a stall the timers (its lease checks) run before the
   * heartbeats waiting on the sockets are read, and before `run`'s tick, whose timer may come
   * after theirs; without this a stall of `graceMs` would declare every agent with a build lost.
   */
  tick(): void {
    if (!this.stall) return;
    const now = this.clock().getTime();
    const late = now - this.lastTick - this.stall.tickMs;
    this.lastTick = now;
    if (late > this.graceMs / 3) {
      this.listening();
      this.stall.onStall?.(late);
    }
  }

  async lost(build: Build): Promise<LostAttempt | undefined> {
    const { agent, startTimestamp, claimId } = build.status;
    if (build.status.phase !== 'Running' || !agent) return undefined;
    this.tick();
    const now = this.clock().getTime();
    if (now - this.listeningSince < this.graceMs) return undefined;
    const record = await this.registry.get(agent);
    const since = (t: string | undefined) => (t ? now - new Date(t).getTime() : Infinity);
    if (!record) {
      if (since(startTimestamp) > this.graceMs)
        return { reason: 'AgentLost', message: `agent "${agent}" has sent no heartbeat` };
      return undefined;
    }
    const silent = since(record.lastHeartbeat);
    if (silent > this.graceMs) {
      return {
        reason: 'AgentLost',
        message: `agent "${agent}" on node "${record.node}" stopped heartbeating ${Math.round(silent / 1000)}s ago`,
      };
    }
    if (claimInstance(claimId) !== record.instance && since(startTimestamp) > since(record.lastHeartbeat)) {
      return {
        reason: 'AgentLost',
        message: `agent "${agent}" on node "${record.node}" restarted while running the build`,
      };
    }
    return undefined;
  }
}
