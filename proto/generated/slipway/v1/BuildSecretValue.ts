// Original file: proto/slipway/v1/slipway.proto


export interface BuildSecretValue {
  /**
   * The id in strategy.docker.secrets.
   */
  'id'?: (string);
  /**
   * The opaque secret's value; empty when wrong_type is set.
   */
  'value'?: (Buffer | Uint8Array | string);
  /**
   * The named secret exists but is of this type, not opaque: its contents are not handed over
   * and the agent fails the build. Empty: the value is handed over.
   */
  'wrongType'?: (string);
}

export interface BuildSecretValue__Output {
  /**
   * The id in strategy.docker.secrets.
   */
  'id': (string);
  /**
   * The opaque secret's value; empty when wrong_type is set.
   */
  'value': (Buffer);
  /**
   * The named secret exists but is of this type, not opaque: its contents are not handed over
   * and the agent fails the build. Empty: the value is handed over.
   */
  'wrongType': (string);
}
