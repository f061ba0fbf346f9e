// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A stage of an attempt: FetchInputs, PullImages, Build, PushImage.
 */
export interface BuildStage {
  'name'?: (string);
  'startTimestamp'?: (string);
  'durationMs'?: (number | string | Long);
}

/**
 * A stage of an attempt: FetchInputs, PullImages, Build, PushImage.
 */
export interface BuildStage__Output {
  'name': (string);
  'startTimestamp': (string);
  'durationMs': (number);
}
