// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface LogLine {
  'attempt'?: (number);
  /**
   * 1-based, per attempt.
   */
  'line'?: (number | string | Long);
  'text'?: (string);
  /**
   * Only when the request was `batched`: the texts of the lines after this one, in order (lines
   * line+1, line+2, … of the same attempt). Empty otherwise.
   */
  'nextTexts'?: (string)[];
}

export interface LogLine__Output {
  'attempt': (number);
  /**
   * 1-based, per attempt.
   */
  'line': (number);
  'text': (string);
  /**
   * Only when the request was `batched`: the texts of the lines after this one, in order (lines
   * line+1, line+2, … of the same attempt). Empty otherwise.
   */
  'nextTexts': (string)[];
}
