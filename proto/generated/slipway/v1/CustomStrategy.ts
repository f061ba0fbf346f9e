// Original file: proto/slipway/v1/slipway.proto

import type { NameValue as _slipway_v1_NameValue, NameValue__Output as _slipway_v1_NameValue__Output } from '../../slipway/v1/NameValue';
import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';
import type { BuildSecret as _slipway_v1_BuildSecret, BuildSecret__Output as _slipway_v1_BuildSecret__Output } from '../../slipway/v1/BuildSecret';

/**
 * A builder image of the user's own: it gets the build in SLIPWAY_* variables and the source at
 * /workspace/source, pushes the output image itself, and its exit code decides the build.
 */
export interface CustomStrategy {
  'image'?: (string);
  /**
   * More environment of the builder; SLIPWAY_* names are the agent's own.
   */
  'env'?: (_slipway_v1_NameValue)[];
  /**
   * Give the builder the build's own private Docker daemon (DOCKER_HOST); never the node's.
   */
  'exposeDockerSocket'?: (boolean);
  'forcePull'?: (boolean);
  /**
   * A docker-registry secret for pulling the builder image.
   */
  'pullSecret'?: (_slipway_v1_SecretReference | null);
  /**
   * Opaque secrets the builder reads as files, /slipway/secrets/ID.
   */
  'secrets'?: (_slipway_v1_BuildSecret)[];
}

/**
 * A builder image of the user's own: it gets the build in SLIPWAY_* variables and the source at
 * /workspace/source, pushes the output image itself, and its exit code decides the build.
 */
export interface CustomStrategy__Output {
  'image': (string);
  /**
   * More environment of the builder; SLIPWAY_* names are the agent's own.
   */
  'env': (_slipway_v1_NameValue__Output)[];
  /**
   * Give the builder the build's own private Docker daemon (DOCKER_HOST); never the node's.
   */
  'exposeDockerSocket': (boolean);
  'forcePull': (boolean);
  /**
   * A docker-registry secret for pulling the builder image.
   */
  'pullSecret': (_slipway_v1_SecretReference__Output | null);
  /**
   * Opaque secrets the builder reads as files, /slipway/secrets/ID.
   */
  'secrets': (_slipway_v1_BuildSecret__Output)[];
}
