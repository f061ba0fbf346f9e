// Original file: proto/slipway/v1/slipway.proto

import type { DockerStrategy as _slipway_v1_DockerStrategy, DockerStrategy__Output as _slipway_v1_DockerStrategy__Output } from '../../slipway/v1/DockerStrategy';
import type { SourceStrategy as _slipway_v1_SourceStrategy, SourceStrategy__Output as _slipway_v1_SourceStrategy__Output } from '../../slipway/v1/SourceStrategy';

/**
 * Exactly one of the strategies.
 */
export interface BuildStrategy {
  'docker'?: (_slipway_v1_DockerStrategy | null);
  'source'?: (_slipway_v1_SourceStrategy | null);
}

/**
 * Exactly one of the strategies.
 */
export interface BuildStrategy__Output {
  'docker': (_slipway_v1_DockerStrategy__Output | null);
  'source': (_slipway_v1_SourceStrategy__Output | null);
}
