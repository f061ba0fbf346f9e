import {
  header,
  objectField,
  pushesOf,
  pushOf,
  refField,
  secretEquals,
  stringField,
  type WebhookEvent,
  type WebhookProvider,
  type WebhookRequest,
} from './webhook-provider.js';

/**
 * GitLab's webhooks: the secret token travels as it is in `X-Gitlab-Token`; `X-Gitlab-Event`
 * says what happened, `Idempotency-Key` (or, from older GitLabs, `X-Gitlab-Event-UUID`) names
 * the delivery.
 */
export const gitlab: WebhookProvider = {
  type: 'GitLab',
  bodyRequired: true,

  credentialsProblem(req) {
    if (header(req, 'x-gitlab-token') === undefined)
      return 'the X-Gitlab-Token header is missing: give the webhook its secret token in GitLab';
    return undefined;
  },

  authenticate: (req, secret) => secretEquals(Buffer.from(header(req, 'x-gitlab-token')!, 'utf8'), secret),

  deliveryHeaders: ['idempotency-key', 'x-gitlab-event-uuid'],

  interpret(req: WebhookRequest, payload: unknown): WebhookEvent {
    const event = header(req, 'x-gitlab-event');
    if (event === 'Tag Push Hook')
      return { kind: 'ignored', message: 'a tag push starts no build: only pushes to branches do' };
    if (event !== 'Push Hook')
      return {
        kind: 'ignored',
        message: `GitLab event ${JSON.stringify(event ?? '')} starts no build: only Push Hook does`,
      };
    const p = objectField('GitLab push', payload, 'body');
    const ref = refField('GitLab push', p.ref, 'ref');
    // checkout_sha is null when the branch was deleted; after is then all zeros.
    const shaField = p.checkout_sha !== undefined && p.checkout_sha !== null ? 'checkout_sha' : 'after';
    const project = p.project === undefined ? undefined : objectField('GitLab push', p.project, 'project');
    const defaultBranch = stringField('GitLab push', project?.default_branch, 'project.default_branch', true);
    return pushesOf([pushOf('GitLab push', { ref, sha: p[shaField], shaField, defaultBranch })]);
  },
};
