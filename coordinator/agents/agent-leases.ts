import type { Build } from '../api/types.js';
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
 */
export class AgentLeases {
  constructor(
    private readonly registry: AgentRegistry,
    readonly graceMs: number,
    private readonly clock: () => Date,
  ) {}

  async lost(build: Build): Promise<LostAttempt | undefined> {
    const { agent, startTimestamp, claimId } = build.status;
    if (build.status.phase !== 'Running' || !agent) return undefined;
    const now = this.clock().getTime();
    const record = await this.registry.get(agent);
    const since = (t: string | undefined) => (t ? now - new Date(t).getTime() : Infinity);
    if (!record) {
      if (since(startTimestamp) > this.graceMs) return { reason: 'AgentLost', message: `agent "${agent}" has sent no heartbeat` };
      return undefined;
    }
    const silent = since(record.lastHeartbeat);
    if (silent > this.graceMs) {
      return { reason: 'AgentLost', message: `agent "${agent}" on node "${record.node}" stopped heartbeating ${Math.round(silent / 1000)}s ago` };
    }
    if (claimInstance(claimId) !== record.instance && since(startTimestamp) > since(record.lastHeartbeat)) {
      return { reason: 'AgentLost', message: `agent "${agent}" on node "${record.node}" restarted while running the build` };
    }
    return undefined;
  }
}
