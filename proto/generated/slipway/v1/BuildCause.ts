// Original file: proto/slipway/v1/slipway.proto

import type { GitCause as _slipway_v1_GitCause, GitCause__Output as _slipway_v1_GitCause__Output } from '../../slipway/v1/GitCause';
import type { ImageChangeCause as _slipway_v1_ImageChangeCause, ImageChangeCause__Output as _slipway_v1_ImageChangeCause__Output } from '../../slipway/v1/ImageChangeCause';

export interface BuildCause {
  /**
   * Manual, GitHub, GitLab, Bitbucket, Gitea, Generic, ImageChange, ConfigChange.
   */
  'type'?: (string);
  'message'?: (string);
  'git'?: (_slipway_v1_GitCause | null);
  'imageChange'?: (_slipway_v1_ImageChangeCause | null);
}

export interface BuildCause__Output {
  /**
   * Manual, GitHub, GitLab, Bitbucket, Gitea, Generic, ImageChange, ConfigChange.
   */
  'type': (string);
  'message': (string);
  'git': (_slipway_v1_GitCause__Output | null);
  'imageChange': (_slipway_v1_ImageChangeCause__Output | null);
}
