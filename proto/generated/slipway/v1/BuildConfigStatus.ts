// Original file: proto/slipway/v1/slipway.proto

import type { ImageTriggerState as _slipway_v1_ImageTriggerState, ImageTriggerState__Output as _slipway_v1_ImageTriggerState__Output } from '../../slipway/v1/ImageTriggerState';
import type { WebhookDelivery as _slipway_v1_WebhookDelivery, WebhookDelivery__Output as _slipway_v1_WebhookDelivery__Output } from '../../slipway/v1/WebhookDelivery';
import type { Long } from '@grpc/proto-loader';

export interface BuildConfigStatus {
  /**
   * Number of the newest build started from this config.
   */
  'lastVersion'?: (number | string | Long);
  /**
   * The generation a ConfigChange trigger last started a build for (0: none).
   */
  'lastTriggeredGeneration'?: (number | string | Long);
  /**
   * Per watched image, the digest an ImageChange trigger last saw.
   */
  'imageTriggers'?: (_slipway_v1_ImageTriggerState)[];
  /**
   * Webhook deliveries that started builds, oldest first (the newest 100 are kept); a
   * redelivery of one of them starts no second build.
   */
  'webhookDeliveries'?: (_slipway_v1_WebhookDelivery)[];
}

export interface BuildConfigStatus__Output {
  /**
   * Number of the newest build started from this config.
   */
  'lastVersion': (number);
  /**
   * The generation a ConfigChange trigger last started a build for (0: none).
   */
  'lastTriggeredGeneration': (number);
  /**
   * Per watched image, the digest an ImageChange trigger last saw.
   */
  'imageTriggers': (_slipway_v1_ImageTriggerState__Output)[];
  /**
   * Webhook deliveries that started builds, oldest first (the newest 100 are kept); a
   * redelivery of one of them starts no second build.
   */
  'webhookDeliveries': (_slipway_v1_WebhookDelivery__Output)[];
}
