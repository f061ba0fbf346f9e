// Original file: proto/slipway/v1/slipway.proto

import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';

/**
 * A build secret: an opaque Slipway secret, mounted by id into the RUN steps that ask for it
 * (at /run/secrets/ID unless the mount names a target). It never lands in a layer, the image's
 * history, the log or the build's status.
 */
export interface BuildSecret {
  /**
   * The id the Dockerfile's `--mount=type=secret,id=...` names: letters, digits, '.', '_', '-'.
   */
  'id'?: (string);
  /**
   * The opaque secret, in the build's namespace, whose value is mounted.
   */
  'secret'?: (_slipway_v1_SecretReference | null);
}

/**
 * A build secret: an opaque Slipway secret, mounted by id into the RUN steps that ask for it
 * (at /run/secrets/ID unless the mount names a target). It never lands in a layer, the image's
 * history, the log or the build's status.
 */
export interface BuildSecret__Output {
  /**
   * The id the Dockerfile's `--mount=type=secret,id=...` names: letters, digits, '.', '_', '-'.
   */
  'id': (string);
  /**
   * The opaque secret, in the build's namespace, whose value is mounted.
   */
  'secret': (_slipway_v1_SecretReference__Output | null);
}
