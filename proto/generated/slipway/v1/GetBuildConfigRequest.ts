// Original file: proto/slipway/v1/slipway.proto


export interface GetBuildConfigRequest {
  'namespace'?: (string);
  'name'?: (string);
}

export interface GetBuildConfigRequest__Output {
  'namespace': (string);
  'name': (string);
}
