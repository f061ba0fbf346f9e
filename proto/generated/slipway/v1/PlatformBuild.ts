// Original file: proto/slipway/v1/slipway.proto

import type { BuildStage as _slipway_v1_BuildStage, BuildStage__Output as _slipway_v1_BuildStage__Output } from '../../slipway/v1/BuildStage';

/**
 * One platform of a build of several: the build that makes it and how it stands.
 */
export interface PlatformBuild {
  /**
   * os/arch[/variant], e.g. linux/arm64.
   */
  'platform'?: (string);
  /**
   * The platform build's name (the parent's name and the platform, e.g. web-3-linux-arm64).
   */
  'build'?: (string);
  'phase'?: (string);
  'reason'?: (string);
  'message'?: (string);
  /**
   * The digest of the platform's image manifest, once pushed.
   */
  'digest'?: (string);
  'agent'?: (string);
  'node'?: (string);
  'stages'?: (_slipway_v1_BuildStage)[];
}

/**
 * One platform of a build of several: the build that makes it and how it stands.
 */
export interface PlatformBuild__Output {
  /**
   * os/arch[/variant], e.g. linux/arm64.
   */
  'platform': (string);
  /**
   * The platform build's name (the parent's name and the platform, e.g. web-3-linux-arm64).
   */
  'build': (string);
  'phase': (string);
  'reason': (string);
  'message': (string);
  /**
   * The digest of the platform's image manifest, once pushed.
   */
  'digest': (string);
  'agent': (string);
  'node': (string);
  'stages': (_slipway_v1_BuildStage__Output)[];
}
