// Original file: proto/slipway/v1/slipway.proto

import type { GitSource as _slipway_v1_GitSource, GitSource__Output as _slipway_v1_GitSource__Output } from '../../slipway/v1/GitSource';
import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';

export interface BuildSource {
  /**
   * The repository the context comes from; may be left out when `dockerfile` is given.
   */
  'git'?: (_slipway_v1_GitSource | null);
  /**
   * Folder inside the source that is the build context. Empty: the root.
   */
  'contextDir'?: (string);
  /**
   * An inline Dockerfile, used instead of one in the source.
   */
  'dockerfile'?: (string);
  /**
   * A basic-auth secret (username and password or token) for fetching the git source over HTTP(S).
   */
  'sourceSecret'?: (_slipway_v1_SecretReference | null);
}

export interface BuildSource__Output {
  /**
   * The repository the context comes from; may be left out when `dockerfile` is given.
   */
  'git': (_slipway_v1_GitSource__Output | null);
  /**
   * Folder inside the source that is the build context. Empty: the root.
   */
  'contextDir': (string);
  /**
   * An inline Dockerfile, used instead of one in the source.
   */
  'dockerfile': (string);
  /**
   * A basic-auth secret (username and password or token) for fetching the git source over HTTP(S).
   */
  'sourceSecret': (_slipway_v1_SecretReference__Output | null);
}
