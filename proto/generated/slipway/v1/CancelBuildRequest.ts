// Original file: proto/slipway/v1/slipway.proto


export interface CancelBuildRequest {
  'namespace'?: (string);
  'name'?: (string);
}

export interface CancelBuildRequest__Output {
  'namespace': (string);
  'name': (string);
}
