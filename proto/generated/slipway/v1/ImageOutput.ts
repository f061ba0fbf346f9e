// Original file: proto/slipway/v1/slipway.proto


export interface ImageOutput {
  'image'?: (string);
  'digest'?: (string);
}

export interface ImageOutput__Output {
  'image': (string);
  'digest': (string);
}
