// Original file: proto/slipway/v1/slipway.proto

import type { ObjectMeta as _slipway_v1_ObjectMeta, ObjectMeta__Output as _slipway_v1_ObjectMeta__Output } from '../../slipway/v1/ObjectMeta';
import type { BuildSpec as _slipway_v1_BuildSpec, BuildSpec__Output as _slipway_v1_BuildSpec__Output } from '../../slipway/v1/BuildSpec';
import type { BuildStatus as _slipway_v1_BuildStatus, BuildStatus__Output as _slipway_v1_BuildStatus__Output } from '../../slipway/v1/BuildStatus';

export interface Build {
  'metadata'?: (_slipway_v1_ObjectMeta | null);
  'spec'?: (_slipway_v1_BuildSpec | null);
  'status'?: (_slipway_v1_BuildStatus | null);
}

export interface Build__Output {
  'metadata': (_slipway_v1_ObjectMeta__Output | null);
  'spec': (_slipway_v1_BuildSpec__Output | null);
  'status': (_slipway_v1_BuildStatus__Output | null);
}
