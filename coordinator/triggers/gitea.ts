import { githubStylePush } from './github.js';
import {
  header,
  hmacSignature,
  type WebhookEvent,
  type WebhookProvider,
  type WebhookRequest,
} from './webhook-provider.js';

/**
 * Gitea's and Forgejo's webhooks (type "Gitea" or "Forgejo", content type application/json): the
 * body is signed with HMAC-SHA256 under the webhook's secret, sent as bare hex in
 * `X-Forgejo-Signature` or `X-Gitea-Signature` (Forgejo sends both); `X-Forgejo-Event` /
 * `X-Gitea-Event` says what happened and `X-Forgejo-Delivery` / `X-Gitea-Delivery` names the
 * delivery. The push payload is GitHub's form (`ref`, `after`, `repository.default_branch`).
 */
export const gitea: WebhookProvider = {
  type: 'Gitea',
  bodyRequired: true,

  ...hmacSignature(
    [
      { name: 'X-Forgejo-Signature', prefix: '' },
      { name: 'X-Gitea-Signature', prefix: '' },
    ],
    'give the webhook its secret in Gitea or Forgejo',
  ),

  deliveryHeaders: ['x-forgejo-delivery', 'x-gitea-delivery'],

  interpret(req: WebhookRequest, payload: unknown): WebhookEvent {
    const event = header(req, 'x-forgejo-event') ?? header(req, 'x-gitea-event');
    if (event !== 'push')
      return {
        kind: 'ignored',
        message: `Gitea event ${JSON.stringify(event ?? '')} starts no build: only push does`,
      };
    return githubStylePush('Gitea push', payload);
  },
};
