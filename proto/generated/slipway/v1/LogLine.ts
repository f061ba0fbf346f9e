// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface LogLine {
  'attempt'?: (number);
  /**
   * 1-based, per attempt.
   */
  'line'?: (number | string | Long);
  'text'?: (string);
}

export interface LogLine__Output {
  'attempt': (number);
  /**
   * 1-based, per attempt.
   */
  'line': (number);
  'text': (string);
}
