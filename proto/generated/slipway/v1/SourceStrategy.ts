// Original file: proto/slipway/v1/slipway.proto

import type { NameValue as _slipway_v1_NameValue, NameValue__Output as _slipway_v1_NameValue__Output } from '../../slipway/v1/NameValue';
import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';

/**
 * Source-to-Image: the builder image's assemble script turns the source into the output image.
 */
export interface SourceStrategy {
  'builderImage'?: (string);
  /**
   * Where the s2i scripts are: image:///path inside the builder. Empty: the builder's
   * io.openshift.s2i.scripts-url label.
   */
  'scriptsUrl'?: (string);
  /**
   * Environment of assemble (and of the output image).
   */
  'env'?: (_slipway_v1_NameValue)[];
  /**
   * Reuse artifacts of the previous output image (its save-artifacts script).
   */
  'incremental'?: (boolean);
  'forcePull'?: (boolean);
  /**
   * A docker-registry secret for pulling the builder image.
   */
  'pullSecret'?: (_slipway_v1_SecretReference | null);
}

/**
 * Source-to-Image: the builder image's assemble script turns the source into the output image.
 */
export interface SourceStrategy__Output {
  'builderImage': (string);
  /**
   * Where the s2i scripts are: image:///path inside the builder. Empty: the builder's
   * io.openshift.s2i.scripts-url label.
   */
  'scriptsUrl': (string);
  /**
   * Environment of assemble (and of the output image).
   */
  'env': (_slipway_v1_NameValue__Output)[];
  /**
   * Reuse artifacts of the previous output image (its save-artifacts script).
   */
  'incremental': (boolean);
  'forcePull': (boolean);
  /**
   * A docker-registry secret for pulling the builder image.
   */
  'pullSecret': (_slipway_v1_SecretReference__Output | null);
}
