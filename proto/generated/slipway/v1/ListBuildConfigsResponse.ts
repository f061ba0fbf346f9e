// Original file: proto/slipway/v1/slipway.proto

import type { BuildConfig as _slipway_v1_BuildConfig, BuildConfig__Output as _slipway_v1_BuildConfig__Output } from '../../slipway/v1/BuildConfig';

export interface ListBuildConfigsResponse {
  'items'?: (_slipway_v1_BuildConfig)[];
  /**
   * Where the next page starts; empty on the last page. Opaque to clients: it holds the key to
   * continue after, in key order (config name, then build number), so under concurrent writes a
   * listing never shows an object twice: one created meanwhile is listed or not (listed when it
   * sorts after the pages already read), one deleted meanwhile may be missing. It does not expire.
   */
  'nextPageToken'?: (string);
}

export interface ListBuildConfigsResponse__Output {
  'items': (_slipway_v1_BuildConfig__Output)[];
  /**
   * Where the next page starts; empty on the last page. Opaque to clients: it holds the key to
   * continue after, in key order (config name, then build number), so under concurrent writes a
   * listing never shows an object twice: one created meanwhile is listed or not (listed when it
   * sorts after the pages already read), one deleted meanwhile may be missing. It does not expire.
   */
  'nextPageToken': (string);
}
