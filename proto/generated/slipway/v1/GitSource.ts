// Original file: proto/slipway/v1/slipway.proto


export interface GitSource {
  'uri'?: (string);
  /**
   * Branch, tag or full commit id. Empty: the remote's default branch.
   */
  'ref'?: (string);
  /**
   * Check out the repository's submodules too (recursively; relative URLs resolved against uri;
   * the source secret goes only to uri's host). Not set: true.
   */
  'submodules'?: (boolean);
  '_submodules'?: "submodules";
}

export interface GitSource__Output {
  'uri': (string);
  /**
   * Branch, tag or full commit id. Empty: the remote's default branch.
   */
  'ref': (string);
  /**
   * Check out the repository's submodules too (recursively; relative URLs resolved against uri;
   * the source secret goes only to uri's host). Not set: true.
   */
  'submodules'?: (boolean);
  '_submodules'?: "submodules";
}
