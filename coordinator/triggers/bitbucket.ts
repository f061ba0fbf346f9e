import {
  arrayField,
  header,
  hmacSignature,
  objectField,
  pushesOf,
  pushOf,
  refField,
  stringField,
  type PushEvent,
  type WebhookEvent,
  type WebhookProvider,
  type WebhookRequest,
} from './webhook-provider.js';

const CLOUD = 'Bitbucket push';
const SERVER = 'Bitbucket refs_changed';

/**
 * Bitbucket's webhooks, from Bitbucket Cloud and from Bitbucket Server / Data Center: the body
 * is signed with HMAC-SHA256 under the webhook's secret (`X-Hub-Signature: sha256=<hex>`), and
 * `X-Event-Key` says what happened: Cloud's `repo:push` (`push.changes[].new`), Server's
 * `repo:refs_changed` (`changes[].ref.id`, `toHash`). Cloud names the delivery in
 * `X-Request-UUID`, Server in `X-Request-Id`. Neither payload says which branch is the
 * repository's default, so a config must name its branch (`source.git.ref`) for pushes to start builds.
 */
export const bitbucket: WebhookProvider = {
  type: 'Bitbucket',
  bodyRequired: true,

  ...hmacSignature([{ name: 'X-Hub-Signature', prefix: 'sha256=' }], 'give the webhook its secret in Bitbucket'),

  deliveryHeaders: ['x-request-uuid', 'x-request-id'],

  interpret(req: WebhookRequest, payload: unknown): WebhookEvent {
    const event = header(req, 'x-event-key');
    if (event === 'diagnostics:ping')
      return {
        kind: 'ignored',
        message: 'ping received: the webhook reaches Slipway and its secret matches; pushes will start builds',
      };
    if (event === 'repo:push') return pushesOf(cloudChanges(payload));
    if (event === 'repo:refs_changed') return pushesOf(serverChanges(payload));
    return {
      kind: 'ignored',
      message: `Bitbucket event ${JSON.stringify(event ?? '')} starts no build: only repo:push (Cloud) and repo:refs_changed (Server, Data Center) do`,
    };
  },
};

/** Cloud: each change's `new` is the ref as it is now (null when it was deleted). */
function cloudChanges(payload: unknown): (PushEvent | string)[] {
  const p = objectField(CLOUD, payload, 'body');
  const push = objectField(CLOUD, p.push, 'push');
  return arrayField(CLOUD, push.changes, 'push.changes').map((c, i) => {
    const at = `push.changes[${i}]`;
    const change = objectField(CLOUD, c, at);
    if (change.new === null || change.new === undefined) {
      const old =
        change.old === null || change.old === undefined ? undefined : objectField(CLOUD, change.old, `${at}.old`);
      const name = stringField(CLOUD, old?.name, `${at}.old.name`, true);
      return `${name ?? 'a ref'} was deleted: nothing to build`;
    }
    const now = objectField(CLOUD, change.new, `${at}.new`);
    const type = stringField(CLOUD, now.type, `${at}.new.type`);
    const name = stringField(CLOUD, now.name, `${at}.new.name`);
    const prefix = type === 'branch' ? 'refs/heads/' : type === 'tag' || type === 'annotated_tag' ? 'refs/tags/' : '';
    if (!prefix) return `${JSON.stringify(name)} is a ${type}, not a branch: only pushes to branches start builds`;
    const ref = refField(CLOUD, `${prefix}${name}`, `${at}.new.name`);
    const target = objectField(CLOUD, now.target, `${at}.new.target`);
    return pushOf(CLOUD, { ref, sha: target.hash, shaField: `${at}.new.target.hash`, defaultBranchUnknown: true });
  });
}

/** Server and Data Center: each change names the ref, its new commit and ADD, UPDATE or DELETE. */
function serverChanges(payload: unknown): (PushEvent | string)[] {
  const p = objectField(SERVER, payload, 'body');
  return arrayField(SERVER, p.changes, 'changes').map((c, i) => {
    const at = `changes[${i}]`;
    const change = objectField(SERVER, c, at);
    const ref = refField(SERVER, objectField(SERVER, change.ref, `${at}.ref`).id, `${at}.ref.id`);
    return pushOf(SERVER, {
      ref,
      sha: change.toHash,
      shaField: `${at}.toHash`,
      deleted: change.type === 'DELETE',
      defaultBranchUnknown: true,
    });
  });
}
