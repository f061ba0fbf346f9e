// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface BinarySource {
  /**
   * Name of the uploaded archive in the contexts object store.
   */
  'object'?: (string);
  'sha256'?: (string);
  'size'?: (number | string | Long);
}

export interface BinarySource__Output {
  /**
   * Name of the uploaded archive in the contexts object store.
   */
  'object': (string);
  'sha256': (string);
  'size': (number);
}
