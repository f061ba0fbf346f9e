// Original file: proto/slipway/v1/slipway.proto

import type { GitSource as _slipway_v1_GitSource, GitSource__Output as _slipway_v1_GitSource__Output } from '../../slipway/v1/GitSource';

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
}
