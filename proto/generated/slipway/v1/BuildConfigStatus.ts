// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface BuildConfigStatus {
  /**
   * Number of the newest build started from this config.
   */
  'lastVersion'?: (number | string | Long);
}

export interface BuildConfigStatus__Output {
  /**
   * Number of the newest build started from this config.
   */
  'lastVersion': (number);
}
