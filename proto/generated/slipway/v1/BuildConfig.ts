// Original file: proto/slipway/v1/slipway.proto

import type { ObjectMeta as _slipway_v1_ObjectMeta, ObjectMeta__Output as _slipway_v1_ObjectMeta__Output } from '../../slipway/v1/ObjectMeta';
import type { BuildConfigSpec as _slipway_v1_BuildConfigSpec, BuildConfigSpec__Output as _slipway_v1_BuildConfigSpec__Output } from '../../slipway/v1/BuildConfigSpec';
import type { BuildConfigStatus as _slipway_v1_BuildConfigStatus, BuildConfigStatus__Output as _slipway_v1_BuildConfigStatus__Output } from '../../slipway/v1/BuildConfigStatus';

export interface BuildConfig {
  'metadata'?: (_slipway_v1_ObjectMeta | null);
  'spec'?: (_slipway_v1_BuildConfigSpec | null);
  'status'?: (_slipway_v1_BuildConfigStatus | null);
}

export interface BuildConfig__Output {
  'metadata': (_slipway_v1_ObjectMeta__Output | null);
  'spec': (_slipway_v1_BuildConfigSpec__Output | null);
  'status': (_slipway_v1_BuildConfigStatus__Output | null);
}
