// Original file: proto/slipway/v1/slipway.proto


export interface DeleteBuildConfigRequest {
  'namespace'?: (string);
  'name'?: (string);
}

export interface DeleteBuildConfigRequest__Output {
  'namespace': (string);
  'name': (string);
}
