// Original file: proto/slipway/v1/slipway.proto

import type { Build as _slipway_v1_Build, Build__Output as _slipway_v1_Build__Output } from '../../slipway/v1/Build';

export interface ListBuildsResponse {
  'items'?: (_slipway_v1_Build)[];
}

export interface ListBuildsResponse__Output {
  'items': (_slipway_v1_Build__Output)[];
}
