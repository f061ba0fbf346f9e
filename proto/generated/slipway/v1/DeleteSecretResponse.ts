// Original file: proto/slipway/v1/slipway.proto


export interface DeleteSecretResponse {
}

export interface DeleteSecretResponse__Output {
}
