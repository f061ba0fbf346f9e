// Original file: proto/slipway/v1/slipway.proto

import type { DockerStrategy as _slipway_v1_DockerStrategy, DockerStrategy__Output as _slipway_v1_DockerStrategy__Output } from '../../slipway/v1/DockerStrategy';
import type { SourceStrategy as _slipway_v1_SourceStrategy, SourceStrategy__Output as _slipway_v1_SourceStrategy__Output } from '../../slipway/v1/SourceStrategy';
import type { CustomStrategy as _slipway_v1_CustomStrategy, CustomStrategy__Output as _slipway_v1_CustomStrategy__Output } from '../../slipway/v1/CustomStrategy';

/**
 * Exactly one of the strategies.
 */
export interface BuildStrategy {
  'docker'?: (_slipway_v1_DockerStrategy | null);
  'source'?: (_slipway_v1_SourceStrategy | null);
  'custom'?: (_slipway_v1_CustomStrategy | null);
}

/**
 * Exactly one of the strategies.
 */
export interface BuildStrategy__Output {
  'docker': (_slipway_v1_DockerStrategy__Output | null);
  'source': (_slipway_v1_SourceStrategy__Output | null);
  'custom': (_slipway_v1_CustomStrategy__Output | null);
}
