// Original file: proto/slipway/v1/slipway.proto


export interface ImageTriggerState {
  'from'?: (string);
  'lastDigest'?: (string);
}

export interface ImageTriggerState__Output {
  'from': (string);
  'lastDigest': (string);
}
