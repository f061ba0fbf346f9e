// Original file: proto/slipway/v1/slipway.proto


export interface DeleteBuildConfigResponse {
}

export interface DeleteBuildConfigResponse__Output {
}
