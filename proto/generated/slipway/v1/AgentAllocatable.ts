// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface AgentAllocatable {
  /**
   * CPU in millicores and memory in bytes that builds' resources may take; 0: not said.
   */
  'cpuMillis'?: (number | string | Long);
  'memoryBytes'?: (number | string | Long);
}

export interface AgentAllocatable__Output {
  /**
   * CPU in millicores and memory in bytes that builds' resources may take; 0: not said.
   */
  'cpuMillis': (number);
  'memoryBytes': (number);
}
