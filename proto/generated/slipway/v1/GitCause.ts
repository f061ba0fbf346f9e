// Original file: proto/slipway/v1/slipway.proto


export interface GitCause {
  'ref'?: (string);
  'commit'?: (string);
  'deliveryId'?: (string);
}

export interface GitCause__Output {
  'ref': (string);
  'commit': (string);
  'deliveryId': (string);
}
