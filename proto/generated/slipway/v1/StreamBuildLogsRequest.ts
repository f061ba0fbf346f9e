// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface StreamBuildLogsRequest {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * Keep streaming new lines until the attempt's log ends.
   */
  'follow'?: (boolean);
  /**
   * 1-based line to start from; 0 or 1: the first.
   */
  'fromLine'?: (number | string | Long);
  /**
   * 0: the build's current attempt.
   */
  'attempt'?: (number);
}

export interface StreamBuildLogsRequest__Output {
  'namespace': (string);
  'name': (string);
  /**
   * Keep streaming new lines until the attempt's log ends.
   */
  'follow': (boolean);
  /**
   * 1-based line to start from; 0 or 1: the first.
   */
  'fromLine': (number);
  /**
   * 0: the build's current attempt.
   */
  'attempt': (number);
}
