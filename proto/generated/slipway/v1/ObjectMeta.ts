// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface ObjectMeta {
  'name'?: (string);
  'namespace'?: (string);
  'uid'?: (string);
  /**
   * The state store's revision of the object; pass it back to update only that revision.
   */
  'resourceVersion'?: (string);
  'generation'?: (number | string | Long);
  'creationTimestamp'?: (string);
  'labels'?: ({[key: string]: string});
}

export interface ObjectMeta__Output {
  'name': (string);
  'namespace': (string);
  'uid': (string);
  /**
   * The state store's revision of the object; pass it back to update only that revision.
   */
  'resourceVersion': (string);
  'generation': (number);
  'creationTimestamp': (string);
  'labels': ({[key: string]: string});
}
