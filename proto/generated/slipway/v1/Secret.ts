// Original file: proto/slipway/v1/slipway.proto

import type { ObjectMeta as _slipway_v1_ObjectMeta, ObjectMeta__Output as _slipway_v1_ObjectMeta__Output } from '../../slipway/v1/ObjectMeta';

/**
 * Credentials, stored encrypted; only the name, type and registry are ever returned.
 */
export interface Secret {
  'metadata'?: (_slipway_v1_ObjectMeta | null);
  /**
   * docker-registry: registry, username, password (push and pull secrets).
   * basic-auth: username, password or token (source.sourceSecret, http(s) git).
   * ssh-auth: ssh_private_key, known_hosts (source.sourceSecret, ssh git).
   * webhook: password is the value webhook deliveries are signed or authenticated with.
   * opaque: password is the value, any text (strategy.docker.secrets, build secrets).
   */
  'type'?: (string);
  'registry'?: (string);
  'username'?: (string);
  'password'?: (string);
  'sshPrivateKey'?: (string);
  /**
   * known_hosts lines for the git server; empty: its host key is accepted unchecked.
   */
  'knownHosts'?: (string);
}

/**
 * Credentials, stored encrypted; only the name, type and registry are ever returned.
 */
export interface Secret__Output {
  'metadata': (_slipway_v1_ObjectMeta__Output | null);
  /**
   * docker-registry: registry, username, password (push and pull secrets).
   * basic-auth: username, password or token (source.sourceSecret, http(s) git).
   * ssh-auth: ssh_private_key, known_hosts (source.sourceSecret, ssh git).
   * webhook: password is the value webhook deliveries are signed or authenticated with.
   * opaque: password is the value, any text (strategy.docker.secrets, build secrets).
   */
  'type': (string);
  'registry': (string);
  'username': (string);
  'password': (string);
  'sshPrivateKey': (string);
  /**
   * known_hosts lines for the git server; empty: its host key is accepted unchecked.
   */
  'knownHosts': (string);
}
