// Original file: proto/slipway/v1/slipway.proto

import type { NameValue as _slipway_v1_NameValue, NameValue__Output as _slipway_v1_NameValue__Output } from '../../slipway/v1/NameValue';

export interface DockerStrategy {
  /**
   * Path of the Dockerfile, relative to the context. Empty: "Dockerfile".
   */
  'dockerfilePath'?: (string);
  'buildArgs'?: (_slipway_v1_NameValue)[];
  'noCache'?: (boolean);
}

export interface DockerStrategy__Output {
  /**
   * Path of the Dockerfile, relative to the context. Empty: "Dockerfile".
   */
  'dockerfilePath': (string);
  'buildArgs': (_slipway_v1_NameValue__Output)[];
  'noCache': (boolean);
}
