// Original file: proto/slipway/v1/slipway.proto


export interface NameValue {
  'name'?: (string);
  'value'?: (string);
}

export interface NameValue__Output {
  'name': (string);
  'value': (string);
}
