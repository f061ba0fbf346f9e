// Original file: proto/slipway/v1/slipway.proto

import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';

export interface BuildOutput {
  /**
   * registry/repository:tag the image is pushed to.
   */
  'image'?: (string);
  'pushSecret'?: (_slipway_v1_SecretReference | null);
}

export interface BuildOutput__Output {
  /**
   * registry/repository:tag the image is pushed to.
   */
  'image': (string);
  'pushSecret': (_slipway_v1_SecretReference__Output | null);
}
