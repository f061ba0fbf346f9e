import {
  objectField,
  payloadError,
  refField,
  secretEquals,
  stringField,
  type WebhookEvent,
  type WebhookProvider,
  type WebhookRequest,
} from './webhook-provider.js';

const COMMIT = /^[0-9a-f]{7,64}$/;

/**
 * OpenShift's generic webhook, for any sender that can POST: the secret is the URL's last
 * segment; the body is optional, and when given it is `{"git": {"ref": "...", "commit": "..."}}`
 * (other fields, as OpenShift's author and message, are ignored). `Idempotency-Key` names the
 * delivery when the sender gives one.
 */
export const generic: WebhookProvider = {
  type: 'Generic',
  bodyRequired: false,

  credentialsProblem: () => undefined,

  authenticate: (req, secret) => secretEquals(Buffer.from(req.urlSecret ?? '', 'utf8'), secret),

  deliveryHeaders: ['idempotency-key'],

  interpret(_req: WebhookRequest, payload: unknown): WebhookEvent {
    if (payload === undefined) return { kind: 'push', pushes: [{}] };
    const p = objectField('generic webhook', payload, 'body');
    if (p.git === undefined) return { kind: 'push', pushes: [{}] };
    const git = objectField('generic webhook', p.git, 'git');
    let ref: string | undefined;
    if (git.ref !== undefined) {
      ref = refField('generic webhook', git.ref, 'git.ref');
      if (ref.startsWith('refs/') && !ref.startsWith('refs/heads/'))
        return { kind: 'ignored', message: `${ref} is not a branch: only branches are built` };
      if (!ref.startsWith('refs/heads/')) ref = `refs/heads/${ref}`;
    }
    const commit = stringField('generic webhook', git.commit, 'git.commit', true);
    if (commit !== undefined && !COMMIT.test(commit))
      throw payloadError('generic webhook', 'git.commit', 'must be a commit id (7 to 64 lowercase hex digits)');
    return { kind: 'push', pushes: [{ ref, commit }] };
  },
};
