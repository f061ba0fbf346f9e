// Original file: proto/slipway/v1/slipway.proto


export interface SourceImageDigest {
  /**
   * As source.images[].from names it.
   */
  'from'?: (string);
  'digest'?: (string);
}

export interface SourceImageDigest__Output {
  /**
   * As source.images[].from names it.
   */
  'from': (string);
  'digest': (string);
}
