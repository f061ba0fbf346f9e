// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface AgentCacheFigures {
  /**
   * Bytes of images on its Docker daemon, as its image GC last measured.
   */
  'imageBytes'?: (number | string | Long);
  /**
   * Bytes its image GC has freed since the agent started.
   */
  'gcReclaimedBytes'?: (number | string | Long);
  /**
   * Blob hits and misses of the node's caching registry proxy, when the agent can read them.
   */
  'nodeCacheHits'?: (number | string | Long);
  'nodeCacheMisses'?: (number | string | Long);
}

export interface AgentCacheFigures__Output {
  /**
   * Bytes of images on its Docker daemon, as its image GC last measured.
   */
  'imageBytes': (number);
  /**
   * Bytes its image GC has freed since the agent started.
   */
  'gcReclaimedBytes': (number);
  /**
   * Blob hits and misses of the node's caching registry proxy, when the agent can read them.
   */
  'nodeCacheHits': (number);
  'nodeCacheMisses': (number);
}
