// Original file: proto/slipway/v1/slipway.proto

import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';
import type { ImageSourcePath as _slipway_v1_ImageSourcePath, ImageSourcePath__Output as _slipway_v1_ImageSourcePath__Output } from '../../slipway/v1/ImageSourcePath';

/**
 * An image whose paths are copied into the build's context. The tag is resolved to a digest at
 * the start of a build's first attempt (BuildStatus.source_images); later attempts use that digest.
 */
export interface ImageSource {
  /**
   * registry/repository[:tag] or registry/repository@sha256:...
   */
  'from'?: (string);
  /**
   * A docker-registry secret for pulling it.
   */
  'pullSecret'?: (_slipway_v1_SecretReference | null);
  'paths'?: (_slipway_v1_ImageSourcePath)[];
}

/**
 * An image whose paths are copied into the build's context. The tag is resolved to a digest at
 * the start of a build's first attempt (BuildStatus.source_images); later attempts use that digest.
 */
export interface ImageSource__Output {
  /**
   * registry/repository[:tag] or registry/repository@sha256:...
   */
  'from': (string);
  /**
   * A docker-registry secret for pulling it.
   */
  'pullSecret': (_slipway_v1_SecretReference__Output | null);
  'paths': (_slipway_v1_ImageSourcePath__Output)[];
}
