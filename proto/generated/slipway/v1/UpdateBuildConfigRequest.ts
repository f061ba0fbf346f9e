// Original file: proto/slipway/v1/slipway.proto

import type { BuildConfig as _slipway_v1_BuildConfig, BuildConfig__Output as _slipway_v1_BuildConfig__Output } from '../../slipway/v1/BuildConfig';

export interface UpdateBuildConfigRequest {
  /**
   * metadata.resource_version, when set, makes the update conditional on that revision.
   */
  'config'?: (_slipway_v1_BuildConfig | null);
}

export interface UpdateBuildConfigRequest__Output {
  /**
   * metadata.resource_version, when set, makes the update conditional on that revision.
   */
  'config': (_slipway_v1_BuildConfig__Output | null);
}
