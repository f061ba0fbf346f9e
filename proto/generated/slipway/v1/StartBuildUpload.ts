// Original file: proto/slipway/v1/slipway.proto

import type { StartBuildRequest as _slipway_v1_StartBuildRequest, StartBuildRequest__Output as _slipway_v1_StartBuildRequest__Output } from '../../slipway/v1/StartBuildRequest';

/**
 * A build started with an uploaded context: the first message says what to start, the rest
 * carry the context (a tar archive, gzipped or not) in order.
 */
export interface StartBuildUpload {
  'start'?: (_slipway_v1_StartBuildRequest | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'part'?: "start"|"chunk";
}

/**
 * A build started with an uploaded context: the first message says what to start, the rest
 * carry the context (a tar archive, gzipped or not) in order.
 */
export interface StartBuildUpload__Output {
  'start'?: (_slipway_v1_StartBuildRequest__Output | null);
  'chunk'?: (Buffer);
  'part'?: "start"|"chunk";
}
