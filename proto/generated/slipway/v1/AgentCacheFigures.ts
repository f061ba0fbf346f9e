// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface AgentCacheFigures {
  /**
   * Bytes its Docker daemon holds (system df: images, containers, build cache, volumes) at its
   * image GC's last round; not the disk the daemon is on. 0 before the first round or with GC off.
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
   * Bytes its Docker daemon holds (system df: images, containers, build cache, volumes) at its
   * image GC's last round; not the disk the daemon is on. 0 before the first round or with GC off.
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
