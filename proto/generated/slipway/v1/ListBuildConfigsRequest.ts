// Original file: proto/slipway/v1/slipway.proto


export interface ListBuildConfigsRequest {
  'namespace'?: (string);
}

export interface ListBuildConfigsRequest__Output {
  'namespace': (string);
}
