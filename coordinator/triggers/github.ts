import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  commitField,
  header,
  objectField,
  refField,
  stringField,
  ZERO_COMMIT,
  type WebhookEvent,
  type WebhookProvider,
  type WebhookRequest,
} from './webhook-provider.js';

const SIGNATURE = 'x-hub-signature-256';
const SIGNATURE_FORM = /^sha256=[0-9a-f]{64}$/;

/**
 * GitHub's webhooks (content type application/json): the body is signed with HMAC-SHA256 under
 * the webhook's secret (`X-Hub-Signature-256: sha256=<hex>`); `X-GitHub-Event` says what
 * happened and `X-GitHub-Delivery` names the delivery (a redelivery keeps it).
 */
export const github: WebhookProvider = {
  type: 'GitHub',
  bodyRequired: true,

  credentialsProblem(req) {
    const signature = header(req, SIGNATURE);
    if (signature === undefined)
      return 'the X-Hub-Signature-256 header is missing: give the webhook its secret in GitHub';
    if (!SIGNATURE_FORM.test(signature))
      return 'the X-Hub-Signature-256 header is not "sha256=" and 64 lowercase hex digits';
    return undefined;
  },

  authenticate(req, secret) {
    const given = Buffer.from(header(req, SIGNATURE)!.slice('sha256='.length), 'hex');
    const expected = createHmac('sha256', secret).update(req.body).digest();
    // Both 32 bytes: credentialsProblem checked the form.
    return timingSafeEqual(given, expected);
  },

  deliveryId: (req) => header(req, 'x-github-delivery'),

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
    const p = objectField('GitHub push', payload, 'body');
    const ref = refField('GitHub push', p.ref, 'ref');
    const after = stringField('GitHub push', p.after, 'after');
    if (p.deleted === true || ZERO_COMMIT.test(after))
      return { kind: 'ignored', message: `${ref} was deleted: nothing to build` };
    if (!ref.startsWith('refs/heads/'))
      return { kind: 'ignored', message: `${ref} is not a branch: only pushes to branches start builds` };
    const commit = commitField('GitHub push', after, 'after');
    const repository = p.repository === undefined ? undefined : objectField('GitHub push', p.repository, 'repository');
    const defaultBranch = stringField('GitHub push', repository?.default_branch, 'repository.default_branch', true);
    return { kind: 'push', push: { ref, commit, defaultBranch } };
  },
};
