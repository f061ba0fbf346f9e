// Original file: proto/slipway/v1/slipway.proto

import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from '../../slipway/v1/BuildRef';
import type { ImageOutput as _slipway_v1_ImageOutput, ImageOutput__Output as _slipway_v1_ImageOutput__Output } from '../../slipway/v1/ImageOutput';
import type { BuildStage as _slipway_v1_BuildStage, BuildStage__Output as _slipway_v1_BuildStage__Output } from '../../slipway/v1/BuildStage';
import type { Long } from '@grpc/proto-loader';

export interface CompleteBuildRequest {
  'build'?: (_slipway_v1_BuildRef | null);
  'agent'?: (string);
  'output'?: (_slipway_v1_ImageOutput | null);
  'commit'?: (string);
  'logLines'?: (number | string | Long);
  'stages'?: (_slipway_v1_BuildStage)[];
}

export interface CompleteBuildRequest__Output {
  'build': (_slipway_v1_BuildRef__Output | null);
  'agent': (string);
  'output': (_slipway_v1_ImageOutput__Output | null);
  'commit': (string);
  'logLines': (number);
  'stages': (_slipway_v1_BuildStage__Output)[];
}
