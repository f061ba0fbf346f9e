// Original file: proto/slipway/v1/slipway.proto

import type { ObjectMeta as _slipway_v1_ObjectMeta, ObjectMeta__Output as _slipway_v1_ObjectMeta__Output } from '../../slipway/v1/ObjectMeta';

/**
 * Credentials, stored encrypted; only the name, type and registry are ever returned.
 */
export interface Secret {
  'metadata'?: (_slipway_v1_ObjectMeta | null);
  /**
   * docker-registry: registry, username, password (for output.pushSecret).
   * basic-auth: username, password or token (for source.sourceSecret).
   */
  'type'?: (string);
  'registry'?: (string);
  'username'?: (string);
  'password'?: (string);
}

/**
 * Credentials, stored encrypted; only the name, type and registry are ever returned.
 */
export interface Secret__Output {
  'metadata': (_slipway_v1_ObjectMeta__Output | null);
  /**
   * docker-registry: registry, username, password (for output.pushSecret).
   * basic-auth: username, password or token (for source.sourceSecret).
   */
  'type': (string);
  'registry': (string);
  'username': (string);
  'password': (string);
}
