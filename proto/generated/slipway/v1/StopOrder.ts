// Original file: proto/slipway/v1/slipway.proto

import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from '../../slipway/v1/BuildRef';

export interface StopOrder {
  'build'?: (_slipway_v1_BuildRef | null);
  /**
   * Cancelled: a user cancelled it. Lost: the attempt is no longer this agent's.
   */
  'why'?: (string);
}

export interface StopOrder__Output {
  'build': (_slipway_v1_BuildRef__Output | null);
  /**
   * Cancelled: a user cancelled it. Lost: the attempt is no longer this agent's.
   */
  'why': (string);
}
