// Original file: proto/slipway/v1/slipway.proto

import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from '../../slipway/v1/BuildRef';

/**
 * An attempt placed on the agent, named as its work-queue job names it.
 */
export interface PlacedAttempt {
  'build'?: (_slipway_v1_BuildRef | null);
  /**
   * Which placement of the attempt this is (1, 2 ...).
   */
  'placement'?: (number);
}

/**
 * An attempt placed on the agent, named as its work-queue job names it.
 */
export interface PlacedAttempt__Output {
  'build': (_slipway_v1_BuildRef__Output | null);
  /**
   * Which placement of the attempt this is (1, 2 ...).
   */
  'placement': (number);
}
