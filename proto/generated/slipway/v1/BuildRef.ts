// Original file: proto/slipway/v1/slipway.proto


export interface BuildRef {
  'namespace'?: (string);
  'name'?: (string);
  'attempt'?: (number);
}

export interface BuildRef__Output {
  'namespace': (string);
  'name': (string);
  'attempt': (number);
}
