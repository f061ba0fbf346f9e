// Original file: proto/slipway/v1/slipway.proto


export interface StartBuildRequest {
  'namespace'?: (string);
  'configName'?: (string);
  /**
   * Overrides for this build only; empty: the config's.
   */
  'ref'?: (string);
  'image'?: (string);
}

export interface StartBuildRequest__Output {
  'namespace': (string);
  'configName': (string);
  /**
   * Overrides for this build only; empty: the config's.
   */
  'ref': (string);
  'image': (string);
}
