// Original file: proto/slipway/v1/slipway.proto

import type { RegistryCredentials as _slipway_v1_RegistryCredentials, RegistryCredentials__Output as _slipway_v1_RegistryCredentials__Output } from '../../slipway/v1/RegistryCredentials';

export interface NamedCredentials {
  /**
   * The secret's name.
   */
  'name'?: (string);
  'credentials'?: (_slipway_v1_RegistryCredentials | null);
}

export interface NamedCredentials__Output {
  /**
   * The secret's name.
   */
  'name': (string);
  'credentials': (_slipway_v1_RegistryCredentials__Output | null);
}
