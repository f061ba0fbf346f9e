// Original file: proto/slipway/v1/slipway.proto


export interface ListBuildsRequest {
  'namespace'?: (string);
  /**
   * Empty: builds of every config.
   */
  'configName'?: (string);
  /**
   * Empty: every phase.
   */
  'phase'?: (string);
}

export interface ListBuildsRequest__Output {
  'namespace': (string);
  /**
   * Empty: builds of every config.
   */
  'configName': (string);
  /**
   * Empty: every phase.
   */
  'phase': (string);
}
