// Original file: proto/slipway/v1/slipway.proto


export interface ImageChangeCause {
  'image'?: (string);
  'digest'?: (string);
}

export interface ImageChangeCause__Output {
  'image': (string);
  'digest': (string);
}
