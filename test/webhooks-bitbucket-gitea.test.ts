import { createHmac, randomUUID } from 'node:crypto';
import test from 'ava';
import { startGitServer } from './helpers/git-server.js';
import { startSlipway } from './helpers/slipway.js';
import { storedText } from './helpers/stored-state.js';
import { capturedLog, post, repoWithConfig, unique, type Answer } from './helpers/webhooks.js';

const hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

/** A Bitbucket Cloud delivery: signed, keyed by event, named by X-Request-UUID. */
function bitbucketCloudHeaders(body: string, secret: string, o: { event?: string; uuid?: string } = {}) {
  return {
    'content-type': 'application/json',
    'x-event-key': o.event ?? 'repo:push',
    'x-request-uuid': o.uuid ?? randomUUID(),
    'x-hook-uuid': '{6a1b2f44-0000-4000-8000-000000000000}',
    'x-hub-signature': `sha256=${hmac(secret, body)}`,
  };
}

/** Bitbucket Cloud's repo:push payload for one branch update (the fields Slipway reads, and a few it does not). */
function cloudPush(repo: string, branch: string, before: string, after: string): string {
  const ref = (hash: string) => ({ type: 'branch', name: branch, target: { type: 'commit', hash } });
  return JSON.stringify({
    actor: { display_name: 'Alice' },
    repository: { type: 'repository', full_name: `acme/${repo}`, name: repo, scm: 'git' },
    push: {
      changes: [{ new: ref(after), old: ref(before), created: false, closed: false, forced: false, truncated: false }],
    },
  });
}

/** Bitbucket Server / Data Center's repo:refs_changed payload for one ref update. */
function serverRefsChanged(repo: string, ref: string, fromHash: string, toHash: string): string {
  return JSON.stringify({
    eventKey: 'repo:refs_changed',
    date: '2026-12-06T12:00:00+0000',
    actor: { name: 'alice' },
    repository: { slug: repo, name: repo, project: { key: 'ACME' } },
    changes: [
      {
        ref: { id: ref, displayId: ref.split('/').pop(), type: 'BRANCH' },
        refId: ref,
        fromHash,
        toHash,
        type: 'UPDATE',
      },
    ],
  });
}

function noSecretAnywhere(
  t: { false: (v: boolean, m?: string) => void },
  secret: string,
  answers: Answer[],
  lines: string[],
) {
  for (const a of answers) t.false(a.text.includes(secret), a.text);
  for (const l of lines) t.false(l.includes(secret), l);
}

test.serial(
  'Bitbucket: a signed Cloud push delivered 3 times (two at once, to two coordinators) starts one build at the pushed commit; Server refs_changed too; bad or missing signatures and other branches start none',
  async (t) => {
    const secret = `bb-${unique()}${unique()}`;
    const logs = capturedLog();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, {
      coordinators: 2,
      coordinator: { httpListen: '127.0.0.1:0' },
      coordinatorLog: logs.log,
    });
    await sw.client.createSecret({ metadata: { name: 'bb-hook' }, type: 'webhook', password: secret });
    const repo = await repoWithConfig(sw, git, 'bb-app', [{ type: 'Bitbucket', secret: { name: 'bb-hook' } }]);
    const sha = await git.pushCommit('bb-app', { version: 'v2\n' });
    const feature = await git.pushCommit('bb-app', { version: 'feature\n' }, { branch: 'feature' });
    const url = (n: number) => `${sw.coordinators[n]!.http!.url}/webhooks/default/bb-app/bitbucket`;
    const builds = async () => (await sw.client.listBuilds({ namespace: 'default', configName: 'bb-app' })).length;
    const body = cloudPush('bb-app', 'main', repo.commit, sha);
    const answers: Answer[] = [];

    const wrong = await post(url(0), body, bitbucketCloudHeaders(body, 'not-the-secret'));
    t.is(wrong.status, 401, wrong.text);
    const { 'x-hub-signature': _, ...unsignedHeaders } = bitbucketCloudHeaders(body, secret);
    const unsigned = await post(url(0), body, unsignedHeaders);
    t.is(unsigned.status, 401, unsigned.text);
    t.regex(unsigned.json.message!, /X-Hub-Signature header is missing/);
    const tampered = await post(url(0), body.replace('Alice', 'Mallory'), bitbucketCloudHeaders(body, secret));
    t.is(tampered.status, 401, tampered.text);
    const other = cloudPush('bb-app', 'feature', repo.commit, feature);
    const otherBranch = await post(url(1), other, bitbucketCloudHeaders(other, secret));
    t.is(otherBranch.status, 200, otherBranch.text);
    t.regex(otherBranch.json.message!, /builds main, not refs\/heads\/feature/);
    answers.push(wrong, unsigned, tampered, otherBranch);
    t.is(await builds(), 0);

    const headers = bitbucketCloudHeaders(body, secret);
    const concurrent = await Promise.all([post(url(0), body, headers), post(url(1), body, headers)]);
    const again = await post(url(1), body, headers);
    const all = [...concurrent, again];
    answers.push(...all);
    t.deepEqual(all.map((a) => a.status).sort(), [200, 200, 201], all.map((a) => a.text).join('\n'));
    const build = all.find((a) => a.status === 201)!.json.build!;
    for (const dup of all.filter((a) => a.status === 200)) t.like(dup.json, { build, duplicate: true });
    t.is(await builds(), 1);

    // Bitbucket Server / Data Center: refs_changed, named by X-Request-Id.
    const tip = await git.pushCommit('bb-app', { version: 'v3\n' });
    const serverBody = serverRefsChanged('bb-app', 'refs/heads/main', sha, tip);
    const serverHeaders = {
      'content-type': 'application/json; charset=UTF-8',
      'x-event-key': 'repo:refs_changed',
      'x-request-id': randomUUID(),
      'x-hub-signature': `sha256=${hmac(secret, serverBody)}`,
    };
    const fromServer = await post(url(0), serverBody, serverHeaders);
    t.is(fromServer.status, 201, fromServer.text);
    const serverAgain = await post(url(1), serverBody, serverHeaders);
    t.like(serverAgain, { status: 200, json: { build: fromServer.json.build, duplicate: true } });
    const pingBody = JSON.stringify({ test: true });
    const ping = await post(url(0), pingBody, {
      ...serverHeaders,
      'x-event-key': 'diagnostics:ping',
      'x-hub-signature': `sha256=${hmac(secret, pingBody)}`,
    });
    t.is(ping.status, 200, ping.text);
    answers.push(fromServer, serverAgain, ping);
    t.is(await builds(), 2);

    const first = await sw.client.waitForBuild('default', build);
    t.is(first.status!.phase, 'Complete', first.status!.message);
    t.is(first.status!.commit, sha);
    t.like(first.spec!.triggeredBy[0], {
      type: 'Bitbucket',
      git: { ref: 'refs/heads/main', commit: sha, deliveryId: headers['x-request-uuid'] },
    });
    const second = await sw.client.waitForBuild('default', fromServer.json.build!);
    t.is(second.status!.phase, 'Complete', second.status!.message);
    t.is(second.status!.commit, tip);
    t.like(second.spec!.triggeredBy[0], { type: 'Bitbucket', git: { deliveryId: serverHeaders['x-request-id'] } });

    noSecretAnywhere(t, secret, answers, logs.lines);
    for (const v of (await storedText(t, sw.natsUrl)).values) t.false(v.text.includes(secret), v.where);
  },
);

test.serial(
  'Gitea and Forgejo: a signed push starts one build at the pushed commit, once per delivery; bad or missing signatures, other branches and other events start none',
  async (t) => {
    const secret = `gt-${unique()}${unique()}`;
    const logs = capturedLog();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { coordinator: { httpListen: '127.0.0.1:0' }, coordinatorLog: logs.log });
    await sw.client.createSecret({ metadata: { name: 'gt-hook' }, type: 'webhook', password: secret });
    const repo = await repoWithConfig(sw, git, 'gt-app', [{ type: 'Gitea', secret: { name: 'gt-hook' } }]);
    const sha = await git.pushCommit('gt-app', { version: 'v2\n' });
    const feature = await git.pushCommit('gt-app', { version: 'feature\n' }, { branch: 'feature' });
    const url = `${sw.coordinators[0]!.http!.url}/webhooks/default/gt-app/gitea`;
    const builds = async () => (await sw.client.listBuilds({ namespace: 'default', configName: 'gt-app' })).length;
    const payload = (ref: string, after: string) =>
      JSON.stringify({
        ref,
        before: repo.commit,
        after,
        compare_url: '',
        commits: [{ id: after, message: 'change' }],
        repository: { full_name: 'acme/gt-app', default_branch: 'main', clone_url: repo.uri },
        pusher: { login: 'alice' },
      });
    const giteaHeaders = (body: string, key: string, o: { event?: string; delivery?: string } = {}) => ({
      'content-type': 'application/json',
      'x-gitea-event': o.event ?? 'push',
      'x-gitea-delivery': o.delivery ?? randomUUID(),
      'x-gitea-signature': hmac(key, body),
    });
    const body = payload('refs/heads/main', sha);

    const wrong = await post(url, body, giteaHeaders(body, 'not-the-secret'));
    t.is(wrong.status, 401, wrong.text);
    const { 'x-gitea-signature': _, ...unsignedHeaders } = giteaHeaders(body, secret);
    const unsigned = await post(url, body, unsignedHeaders);
    t.is(unsigned.status, 401, unsigned.text);
    t.regex(unsigned.json.message!, /X-Gitea-Signature header is missing/);
    const prefixed = await post(url, body, {
      ...giteaHeaders(body, secret),
      'x-gitea-signature': `sha256=${hmac(secret, body)}`,
    });
    t.is(prefixed.status, 401, prefixed.text);
    t.regex(prefixed.json.message!, /64 lowercase hex digits/);
    const otherBody = payload('refs/heads/feature', feature);
    const otherBranch = await post(url, otherBody, giteaHeaders(otherBody, secret));
    t.is(otherBranch.status, 200, otherBranch.text);
    t.regex(otherBranch.json.message!, /builds main, not refs\/heads\/feature/);
    // Gitea offers a form content type too: it is refused, saying which to choose.
    const form = await post(url, `payload=${encodeURIComponent(body)}`, {
      ...giteaHeaders(body, secret),
      'content-type': 'application/x-www-form-urlencoded',
    });
    t.is(form.status, 415, form.text);
    t.regex(form.json.message!, /content type to application\/json in Gitea/);
    const create = await post(url, body, giteaHeaders(body, secret, { event: 'create' }));
    t.is(create.status, 200, create.text);
    t.is(await builds(), 0);

    // Forgejo sends its own headers and Gitea's; one delivery id, delivered twice.
    const delivery = randomUUID();
    const forgejo = {
      ...giteaHeaders(body, secret, { delivery }),
      'x-forgejo-event': 'push',
      'x-forgejo-delivery': delivery,
      'x-forgejo-signature': hmac(secret, body),
    };
    const first = await post(url, body, forgejo);
    t.is(first.status, 201, first.text);
    const again = await post(url, body, forgejo);
    t.like(again, { status: 200, json: { build: first.json.build, duplicate: true } });
    t.is(await builds(), 1);

    const final = await sw.client.waitForBuild('default', first.json.build!);
    t.is(final.status!.phase, 'Complete', final.status!.message);
    t.is(final.status!.commit, sha);
    t.like(final.spec!.triggeredBy[0], {
      type: 'Gitea',
      git: { ref: 'refs/heads/main', commit: sha, deliveryId: delivery },
    });
    const cfg = await sw.client.getBuildConfig('default', 'gt-app');
    t.like(cfg.status!.webhookDeliveries, [{ type: 'Gitea', id: delivery, version: 1 }]);

    noSecretAnywhere(t, secret, [wrong, unsigned, prefixed, otherBranch, create, first, again], logs.lines);
  },
);
