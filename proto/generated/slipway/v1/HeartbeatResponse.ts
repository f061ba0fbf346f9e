// Original file: proto/slipway/v1/slipway.proto

import type { StopOrder as _slipway_v1_StopOrder, StopOrder__Output as _slipway_v1_StopOrder__Output } from '../../slipway/v1/StopOrder';

export interface HeartbeatResponse {
  /**
   * Running attempts the agent must stop now.
   */
  'stop'?: (_slipway_v1_StopOrder)[];
}

export interface HeartbeatResponse__Output {
  /**
   * Running attempts the agent must stop now.
   */
  'stop': (_slipway_v1_StopOrder__Output)[];
}
