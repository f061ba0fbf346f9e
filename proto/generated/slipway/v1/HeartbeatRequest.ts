// Original file: proto/slipway/v1/slipway.proto

import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from '../../slipway/v1/BuildRef';

export interface HeartbeatRequest {
  'agent'?: (string);
  'node'?: (string);
  /**
   * Names this run of the agent; a new one means the agent restarted.
   */
  'instance'?: (string);
  /**
   * The attempts this agent is running now.
   */
  'running'?: (_slipway_v1_BuildRef)[];
}

export interface HeartbeatRequest__Output {
  'agent': (string);
  'node': (string);
  /**
   * Names this run of the agent; a new one means the agent restarted.
   */
  'instance': (string);
  /**
   * The attempts this agent is running now.
   */
  'running': (_slipway_v1_BuildRef__Output)[];
}
