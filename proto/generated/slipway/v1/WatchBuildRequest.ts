// Original file: proto/slipway/v1/slipway.proto


export interface WatchBuildRequest {
  'namespace'?: (string);
  'name'?: (string);
}

export interface WatchBuildRequest__Output {
  'namespace': (string);
  'name': (string);
}
