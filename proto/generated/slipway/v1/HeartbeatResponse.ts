// Original file: proto/slipway/v1/slipway.proto

import type { StopOrder as _slipway_v1_StopOrder, StopOrder__Output as _slipway_v1_StopOrder__Output } from '../../slipway/v1/StopOrder';
import type { PlacedAttempt as _slipway_v1_PlacedAttempt, PlacedAttempt__Output as _slipway_v1_PlacedAttempt__Output } from '../../slipway/v1/PlacedAttempt';

export interface HeartbeatResponse {
  /**
   * Running attempts the agent must stop now.
   */
  'stop'?: (_slipway_v1_StopOrder)[];
  /**
   * Attempts placed on this agent that it has not claimed SLIPWAY_PLACEMENT_REMIND_MS after
   * their placement: their jobs may never have been queued (the work queue refusing publishes)
   * or may be lost. The agent claims them as if their jobs had been delivered.
   */
  'unclaimed'?: (_slipway_v1_PlacedAttempt)[];
}

export interface HeartbeatResponse__Output {
  /**
   * Running attempts the agent must stop now.
   */
  'stop': (_slipway_v1_StopOrder__Output)[];
  /**
   * Attempts placed on this agent that it has not claimed SLIPWAY_PLACEMENT_REMIND_MS after
   * their placement: their jobs may never have been queued (the work queue refusing publishes)
   * or may be lost. The agent claims them as if their jobs had been delivered.
   */
  'unclaimed': (_slipway_v1_PlacedAttempt__Output)[];
}
