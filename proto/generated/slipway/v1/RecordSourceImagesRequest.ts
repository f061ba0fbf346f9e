// Original file: proto/slipway/v1/slipway.proto

import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from '../../slipway/v1/BuildRef';
import type { SourceImageDigest as _slipway_v1_SourceImageDigest, SourceImageDigest__Output as _slipway_v1_SourceImageDigest__Output } from '../../slipway/v1/SourceImageDigest';

/**
 * The digests an attempt resolved its source images' tags to, recorded before it copies from
 * them. The first recorded is kept: the answer holds the digests the attempt must use.
 */
export interface RecordSourceImagesRequest {
  'build'?: (_slipway_v1_BuildRef | null);
  'agent'?: (string);
  'images'?: (_slipway_v1_SourceImageDigest)[];
}

/**
 * The digests an attempt resolved its source images' tags to, recorded before it copies from
 * them. The first recorded is kept: the answer holds the digests the attempt must use.
 */
export interface RecordSourceImagesRequest__Output {
  'build': (_slipway_v1_BuildRef__Output | null);
  'agent': (string);
  'images': (_slipway_v1_SourceImageDigest__Output)[];
}
