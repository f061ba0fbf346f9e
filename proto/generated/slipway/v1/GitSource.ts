// Original file: proto/slipway/v1/slipway.proto


export interface GitSource {
  'uri'?: (string);
  /**
   * Branch, tag or full commit id. Empty: the remote's default branch.
   */
  'ref'?: (string);
}

export interface GitSource__Output {
  'uri': (string);
  /**
   * Branch, tag or full commit id. Empty: the remote's default branch.
   */
  'ref': (string);
}
