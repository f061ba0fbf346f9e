// Original file: proto/slipway/v1/slipway.proto


export interface SecretReference {
  'name'?: (string);
}

export interface SecretReference__Output {
  'name': (string);
}
