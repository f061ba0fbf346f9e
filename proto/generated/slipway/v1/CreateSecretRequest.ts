// Original file: proto/slipway/v1/slipway.proto

import type { Secret as _slipway_v1_Secret, Secret__Output as _slipway_v1_Secret__Output } from '../../slipway/v1/Secret';

export interface CreateSecretRequest {
  'secret'?: (_slipway_v1_Secret | null);
}

export interface CreateSecretRequest__Output {
  'secret': (_slipway_v1_Secret__Output | null);
}
