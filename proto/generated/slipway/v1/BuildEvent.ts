// Original file: proto/slipway/v1/slipway.proto


export interface BuildEvent {
  /**
   * Normal or Warning.
   */
  'type'?: (string);
  'reason'?: (string);
  'message'?: (string);
  'timestamp'?: (string);
}

export interface BuildEvent__Output {
  /**
   * Normal or Warning.
   */
  'type': (string);
  'reason': (string);
  'message': (string);
  'timestamp': (string);
}
