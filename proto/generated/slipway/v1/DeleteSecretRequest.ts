// Original file: proto/slipway/v1/slipway.proto


export interface DeleteSecretRequest {
  'namespace'?: (string);
  'name'?: (string);
}

export interface DeleteSecretRequest__Output {
  'namespace': (string);
  'name': (string);
}
