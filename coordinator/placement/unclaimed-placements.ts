import type { Build, Versioned } from '../../api/types.js';
import type { BuildJob } from '../../common/nats/names.js';
import type { BuildsView } from '../store/build-cache.js';

/** The job of a build's current placement, as queued for its agent and as its heartbeat answer names it. */
export function jobOf(b: Build): BuildJob {
  return {
    namespace: b.metadata.namespace,
    build: b.metadata.name,
    attempt: b.status.attempt,
    placement: b.status.placements ?? 1,
  };
}

/**
 * The placements each agent has not claimed, as this coordinator's build cache holds them: an
 * agent's heartbeat answer names those placed at least SLIPWAY_PLACEMENT_REMIND_MS ago, and the
 * agent claims them as if their jobs had been delivered. So a build placed on a live agent
 * starts whether or not its work-queue job arrives: the jobs stream may refuse publishes for
 * a minute while NATS elects its leader, or lose a job with a node. The claim is what decides
 * (a compare-and-set fenced by placement), so a cache behind only costs a refused claim.
 */
export class UnclaimedPlacements {
  /** By agent, then build key: each placement's job and when it was placed (ms). */
  private readonly byAgent = new Map<string, Map<string, { job: BuildJob; at: number }>>();
  /** The agent each placed build is listed under. */
  private readonly agentOf = new Map<string, string>();

  constructor(builds: Pick<BuildsView, 'onHeld'>) {
    builds.onHeld((key, entry) => this.held(key, entry));
  }

  /** The cache now holds `entry` for `key` (undefined: the build ended or was deleted). */
  held(key: string, entry: Versioned<Build> | undefined): void {
    const before = this.agentOf.get(key);
    if (before !== undefined) {
      const placed = this.byAgent.get(before)!;
      placed.delete(key);
      if (placed.size === 0) this.byAgent.delete(before);
      this.agentOf.delete(key);
    }
    const s = entry?.value.status;
    if (s?.phase !== 'Pending' || !s.placement) return;
    const at = Date.parse(s.placement.timestamp);
    let placed = this.byAgent.get(s.placement.agent);
    if (!placed) this.byAgent.set(s.placement.agent, (placed = new Map()));
    placed.set(key, { job: jobOf(entry!.value), at: Number.isNaN(at) ? 0 : at });
    this.agentOf.set(key, s.placement.agent);
  }

  /** The attempts placed on `agent` and unclaimed, placed at least `olderThanMs` before `now` (ms). */
  due(agent: string, now: number, olderThanMs: number): BuildJob[] {
    const placed = this.byAgent.get(agent);
    if (!placed) return [];
    const out: BuildJob[] = [];
    for (const { job, at } of placed.values()) if (now - at >= olderThanMs) out.push(job);
    return out;
  }
}
