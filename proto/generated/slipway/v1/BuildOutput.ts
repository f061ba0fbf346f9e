// Original file: proto/slipway/v1/slipway.proto

import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';

export interface BuildOutput {
  /**
   * registry/repository:tag the image is pushed to.
   */
  'image'?: (string);
  'pushSecret'?: (_slipway_v1_SecretReference | null);
  /**
   * Platforms (os/arch[/variant], e.g. linux/arm64) to build natively, each on an agent whose
   * node has that kubernetes.io/arch and kubernetes.io/os; an image index naming them all is
   * pushed to `image`. Empty: the node's own platform, one image.
   */
  'platforms'?: (string)[];
}

export interface BuildOutput__Output {
  /**
   * registry/repository:tag the image is pushed to.
   */
  'image': (string);
  'pushSecret': (_slipway_v1_SecretReference__Output | null);
  /**
   * Platforms (os/arch[/variant], e.g. linux/arm64) to build natively, each on an agent whose
   * node has that kubernetes.io/arch and kubernetes.io/os; an image index naming them all is
   * pushed to `image`. Empty: the node's own platform, one image.
   */
  'platforms': (string)[];
}
