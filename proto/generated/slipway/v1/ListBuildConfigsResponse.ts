// Original file: proto/slipway/v1/slipway.proto

import type { BuildConfig as _slipway_v1_BuildConfig, BuildConfig__Output as _slipway_v1_BuildConfig__Output } from '../../slipway/v1/BuildConfig';

export interface ListBuildConfigsResponse {
  'items'?: (_slipway_v1_BuildConfig)[];
}

export interface ListBuildConfigsResponse__Output {
  'items': (_slipway_v1_BuildConfig__Output)[];
}
