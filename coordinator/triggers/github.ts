import {
  header,
  hmacSignature,
  objectField,
  pushesOf,
  pushOf,
  refField,
  stringField,
  type WebhookEvent,
  type WebhookProvider,
  type WebhookRequest,
} from './webhook-provider.js';

/**
 * GitHub's webhooks (content type application/json): the body is signed with HMAC-SHA256 under
 * the webhook's secret (`X-Hub-Signature-256: sha256=<hex>`); `X-GitHub-Event` says what
 * happened and `X-GitHub-Delivery` names the delivery (a redelivery keeps it).
 */
export const github: WebhookProvider = {
  type: 'GitHub',
  bodyRequired: true,

  ...hmacSignature([{ name: 'X-Hub-Signature-256', prefix: 'sha256=' }], 'give the webhook its secret in GitHub'),

  deliveryHeaders: ['x-github-delivery'],

  interpret(req: WebhookRequest, payload: unknown): WebhookEvent {
    const event = header(req, 'x-github-event');
    if (event === 'ping')
      return {
        kind: 'ignored',
        message: 'ping received: the webhook reaches Slipway and its secret matches; pushes will start builds',
      };
    if (event !== 'push')
      return {
        kind: 'ignored',
        message: `GitHub event ${JSON.stringify(event ?? '')} starts no build: only push does`,
      };
    return githubStylePush('GitHub push', payload);
  },
};

/**
 * A push payload in GitHub's form (`ref`, `after`, `deleted`, `repository.default_branch`),
 * which Gitea and Forgejo send too.
 * @throws InvalidInputError naming the field at fault
 */
export function githubStylePush(what: string, payload: unknown): WebhookEvent {
  const p = objectField(what, payload, 'body');
  const ref = refField(what, p.ref, 'ref');
  const repository = p.repository === undefined ? undefined : objectField(what, p.repository, 'repository');
  const defaultBranch = stringField(what, repository?.default_branch, 'repository.default_branch', true);
  return pushesOf([pushOf(what, { ref, sha: p.after, shaField: 'after', deleted: p.deleted === true, defaultBranch })]);
}
