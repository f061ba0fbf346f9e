import type { AgentConfig } from '../../agent/config.js';

/**
 * Agent settings under which image GC is always under pressure (usage is above a 1-byte
 * threshold): the round after every build collects all it may, down to nothing, with no
 * minimum age; periodic rounds are out of the way (an hour); metrics on a free port, so a test
 * can tell when a round has ended (`slipway_agent_gc_runs_total` counts it then).
 */
export const ALWAYS_COLLECT: Partial<AgentConfig> = {
  gcHighThreshold: '1',
  gcLowThreshold: '0',
  gcMinAgeMs: 0,
  gcIntervalMs: 3_600_000,
  metricsListen: '127.0.0.1:0',
};
