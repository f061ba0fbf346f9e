// Original file: proto/slipway/v1/slipway.proto

import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from '../../slipway/v1/BuildRef';
import type { BuildStage as _slipway_v1_BuildStage, BuildStage__Output as _slipway_v1_BuildStage__Output } from '../../slipway/v1/BuildStage';
import type { Long } from '@grpc/proto-loader';

export interface FailBuildRequest {
  'build'?: (_slipway_v1_BuildRef | null);
  'agent'?: (string);
  /**
   * Failed (the build's own fault), Error (the system's), or Cancelled (after a cancel request).
   */
  'phase'?: (string);
  'reason'?: (string);
  'message'?: (string);
  /**
   * -1: no exit code.
   */
  'exitCode'?: (number);
  'commit'?: (string);
  'logLines'?: (number | string | Long);
  'stages'?: (_slipway_v1_BuildStage)[];
  /**
   * The last lines of the log, secrets masked.
   */
  'logSnippet'?: (string);
}

export interface FailBuildRequest__Output {
  'build': (_slipway_v1_BuildRef__Output | null);
  'agent': (string);
  /**
   * Failed (the build's own fault), Error (the system's), or Cancelled (after a cancel request).
   */
  'phase': (string);
  'reason': (string);
  'message': (string);
  /**
   * -1: no exit code.
   */
  'exitCode': (number);
  'commit': (string);
  'logLines': (number);
  'stages': (_slipway_v1_BuildStage__Output)[];
  /**
   * The last lines of the log, secrets masked.
   */
  'logSnippet': (string);
}
