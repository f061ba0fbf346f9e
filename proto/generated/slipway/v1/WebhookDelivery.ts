// Original file: proto/slipway/v1/slipway.proto

import type { Long } from '@grpc/proto-loader';

export interface WebhookDelivery {
  /**
   * GitHub, GitLab, Bitbucket, Gitea or Generic.
   */
  'type'?: (string);
  /**
   * The sender's id of the delivery (X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Request-UUID,
   * X-Gitea-Delivery, Idempotency-Key…).
   */
  'id'?: (string);
  /**
   * The number of the build it started.
   */
  'version'?: (number | string | Long);
  'timestamp'?: (string);
}

export interface WebhookDelivery__Output {
  /**
   * GitHub, GitLab, Bitbucket, Gitea or Generic.
   */
  'type': (string);
  /**
   * The sender's id of the delivery (X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Request-UUID,
   * X-Gitea-Delivery, Idempotency-Key…).
   */
  'id': (string);
  /**
   * The number of the build it started.
   */
  'version': (number);
  'timestamp': (string);
}
