// Original file: proto/slipway/v1/slipway.proto

import type { DockerStrategy as _slipway_v1_DockerStrategy, DockerStrategy__Output as _slipway_v1_DockerStrategy__Output } from '../../slipway/v1/DockerStrategy';

export interface BuildStrategy {
  'docker'?: (_slipway_v1_DockerStrategy | null);
}

export interface BuildStrategy__Output {
  'docker': (_slipway_v1_DockerStrategy__Output | null);
}
