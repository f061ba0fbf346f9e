// Original file: proto/slipway/v1/slipway.proto

import type { Build as _slipway_v1_Build, Build__Output as _slipway_v1_Build__Output } from '../../slipway/v1/Build';
import type { RegistryCredentials as _slipway_v1_RegistryCredentials, RegistryCredentials__Output as _slipway_v1_RegistryCredentials__Output } from '../../slipway/v1/RegistryCredentials';
import type { BuildSecretValue as _slipway_v1_BuildSecretValue, BuildSecretValue__Output as _slipway_v1_BuildSecretValue__Output } from '../../slipway/v1/BuildSecretValue';
import type { NamedCredentials as _slipway_v1_NamedCredentials, NamedCredentials__Output as _slipway_v1_NamedCredentials__Output } from '../../slipway/v1/NamedCredentials';

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
  /**
   * The build secrets (strategy.docker.secrets), by id: one for each that names an existing
   * secret; none for one whose secret does not exist (the agent fails the build).
   */
  'buildSecrets'?: (_slipway_v1_BuildSecretValue)[];
  /**
   * Credentials of the pull secrets source.images name, by secret name: one for each that exists.
   */
  'sourceImageCredentials'?: (_slipway_v1_NamedCredentials)[];
  /**
   * Why the build must run in a user namespace (its config's security.unprivileged, or its
   * namespace's policy); empty: it need not. An agent whose builds do not run in one fails it
   * (UnprivilegedRequired) before it fetches anything.
   */
  'unprivilegedRequired'?: (string);
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
  /**
   * The build secrets (strategy.docker.secrets), by id: one for each that names an existing
   * secret; none for one whose secret does not exist (the agent fails the build).
   */
  'buildSecrets': (_slipway_v1_BuildSecretValue__Output)[];
  /**
   * Credentials of the pull secrets source.images name, by secret name: one for each that exists.
   */
  'sourceImageCredentials': (_slipway_v1_NamedCredentials__Output)[];
  /**
   * Why the build must run in a user namespace (its config's security.unprivileged, or its
   * namespace's policy); empty: it need not. An agent whose builds do not run in one fails it
   * (UnprivilegedRequired) before it fetches anything.
   */
  'unprivilegedRequired': (string);
}
