// Original file: proto/slipway/v1/slipway.proto


export interface GetBuildRequest {
  'namespace'?: (string);
  'name'?: (string);
}

export interface GetBuildRequest__Output {
  'namespace': (string);
  'name': (string);
}
