// Original file: proto/slipway/v1/slipway.proto

import type { GitSource as _slipway_v1_GitSource, GitSource__Output as _slipway_v1_GitSource__Output } from '../../slipway/v1/GitSource';

export interface BuildSource {
  'git'?: (_slipway_v1_GitSource | null);
  /**
   * Folder inside the source that is the build context. Empty: the root.
   */
  'contextDir'?: (string);
}

export interface BuildSource__Output {
  'git': (_slipway_v1_GitSource__Output | null);
  /**
   * Folder inside the source that is the build context. Empty: the root.
   */
  'contextDir': (string);
}
