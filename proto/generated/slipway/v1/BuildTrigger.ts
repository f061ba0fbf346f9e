// Original file: proto/slipway/v1/slipway.proto

import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';
import type { ImageChangeTrigger as _slipway_v1_ImageChangeTrigger, ImageChangeTrigger__Output as _slipway_v1_ImageChangeTrigger__Output } from '../../slipway/v1/ImageChangeTrigger';

export interface BuildTrigger {
  /**
   * GitHub, GitLab, Bitbucket, Gitea (also Forgejo), Generic (webhooks), ImageChange, ConfigChange.
   */
  'type'?: (string);
  /**
   * Webhooks: a secret of type webhook whose value signs or authenticates deliveries.
   */
  'secret'?: (_slipway_v1_SecretReference | null);
  'imageChange'?: (_slipway_v1_ImageChangeTrigger | null);
}

export interface BuildTrigger__Output {
  /**
   * GitHub, GitLab, Bitbucket, Gitea (also Forgejo), Generic (webhooks), ImageChange, ConfigChange.
   */
  'type': (string);
  /**
   * Webhooks: a secret of type webhook whose value signs or authenticates deliveries.
   */
  'secret': (_slipway_v1_SecretReference__Output | null);
  'imageChange': (_slipway_v1_ImageChangeTrigger__Output | null);
}
