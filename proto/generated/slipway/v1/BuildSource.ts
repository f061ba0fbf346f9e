// Original file: proto/slipway/v1/slipway.proto

import type { GitSource as _slipway_v1_GitSource, GitSource__Output as _slipway_v1_GitSource__Output } from '../../slipway/v1/GitSource';
import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';
import type { BinarySource as _slipway_v1_BinarySource, BinarySource__Output as _slipway_v1_BinarySource__Output } from '../../slipway/v1/BinarySource';
import type { ImageSource as _slipway_v1_ImageSource, ImageSource__Output as _slipway_v1_ImageSource__Output } from '../../slipway/v1/ImageSource';

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
  /**
   * On a BuildConfig: present (empty) when its builds take an uploaded context. On a Build: the
   * context uploaded for it, which replaces the git source.
   */
  'binary'?: (_slipway_v1_BinarySource | null);
  /**
   * Paths copied out of other images into the build's context (OpenShift's source.images),
   * with a git source, an upload or an inline Dockerfile, or alone.
   */
  'images'?: (_slipway_v1_ImageSource)[];
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
  /**
   * On a BuildConfig: present (empty) when its builds take an uploaded context. On a Build: the
   * context uploaded for it, which replaces the git source.
   */
  'binary': (_slipway_v1_BinarySource__Output | null);
  /**
   * Paths copied out of other images into the build's context (OpenShift's source.images),
   * with a git source, an upload or an inline Dockerfile, or alone.
   */
  'images': (_slipway_v1_ImageSource__Output)[];
}
