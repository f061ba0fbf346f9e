import type { Build } from '../../api/types.js';
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
 * and after it reconnects to NATS (`listening`), nobody is declared lost, since heartbeats sent
 * meanwhile may not have been recorded.
 */
export class AgentLeases {
  private listeningSince: number;

  constructor(
    private readonly registry: AgentRegistry,
    readonly graceMs: number,
    private readonly clock: () => Date,
  ) {
    this.listeningSince = clock().getTime();
  }

  /** Heartbeats could not be recorded until now (a NATS reconnect): start the grace again. */
  listening(): void {
    this.listeningSince = this.clock().getTime();
  }

  async lost(build: Build): Promise<LostAttempt | undefined> {
    const { agent, startTimestamp, claimId } = build.status;
    if (build.status.phase !== 'Running' || !agent) return undefined;
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
