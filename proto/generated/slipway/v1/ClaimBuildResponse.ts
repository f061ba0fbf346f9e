// Original file: proto/slipway/v1/slipway.proto

import type { Build as _slipway_v1_Build, Build__Output as _slipway_v1_Build__Output } from '../../slipway/v1/Build';
import type { RegistryCredentials as _slipway_v1_RegistryCredentials, RegistryCredentials__Output as _slipway_v1_RegistryCredentials__Output } from '../../slipway/v1/RegistryCredentials';

export interface ClaimBuildResponse {
  'build'?: (_slipway_v1_Build | null);
  /**
   * Credentials of the push secret the build names, if any. Never logged, never stored.
   */
  'pushCredentials'?: (_slipway_v1_RegistryCredentials | null);
  /**
   * Credentials of the source secret the build names, if any (registry left empty).
   */
  'sourceCredentials'?: (_slipway_v1_RegistryCredentials | null);
  /**
   * Credentials of the strategy's pull secret, if any.
   */
  'pullCredentials'?: (_slipway_v1_RegistryCredentials | null);
}

export interface ClaimBuildResponse__Output {
  'build': (_slipway_v1_Build__Output | null);
  /**
   * Credentials of the push secret the build names, if any. Never logged, never stored.
   */
  'pushCredentials': (_slipway_v1_RegistryCredentials__Output | null);
  /**
   * Credentials of the source secret the build names, if any (registry left empty).
   */
  'sourceCredentials': (_slipway_v1_RegistryCredentials__Output | null);
  /**
   * Credentials of the strategy's pull secret, if any.
   */
  'pullCredentials': (_slipway_v1_RegistryCredentials__Output | null);
}
