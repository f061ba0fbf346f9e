// Original file: proto/slipway/v1/slipway.proto


export interface ImageChangeTrigger {
  /**
   * The image whose new digests start a build. Empty: the strategy's docker.from or
   * source.builder_image.
   */
  'from'?: (string);
}

export interface ImageChangeTrigger__Output {
  /**
   * The image whose new digests start a build. Empty: the strategy's docker.from or
   * source.builder_image.
   */
  'from': (string);
}
