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
  /**
   * Several lines a message: each LogLine then carries the lines after it in `next_texts`.
   * Without it, one line a message (as clients from before this field expect). A server from
   * before it sends one line a message whatever is asked, which a batched reader reads alike.
   */
  'batched'?: (boolean);
  /**
   * A build of several platforms: the platform whose log is read (its platform build's).
   */
  'platform'?: (string);
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
  /**
   * Several lines a message: each LogLine then carries the lines after it in `next_texts`.
   * Without it, one line a message (as clients from before this field expect). A server from
   * before it sends one line a message whatever is asked, which a batched reader reads alike.
   */
  'batched': (boolean);
  /**
   * A build of several platforms: the platform whose log is read (its platform build's).
   */
  'platform': (string);
}
