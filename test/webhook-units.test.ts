import { createHmac } from 'node:crypto';
import test from 'ava';
import { MAX_WEBHOOK_DELIVERIES, type BuildConfig } from '../api/types.js';
import { bitbucket } from '../coordinator/triggers/bitbucket.js';
import { generic } from '../coordinator/triggers/generic.js';
import { gitea } from '../coordinator/triggers/gitea.js';
import { github } from '../coordinator/triggers/github.js';
import { gitlab } from '../coordinator/triggers/gitlab.js';
import { branchMismatch, withDelivery } from '../coordinator/triggers/webhooks.js';

const config = (ref?: string): BuildConfig => ({
  metadata: { name: 'app', namespace: 'default', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 },
  spec: {
    source: { git: { uri: 'https://example.com/app.git', ...(ref ? { ref } : {}) } },
    strategy: { docker: {} },
    output: { image: 'r/app:latest' },
  },
  status: { lastVersion: 0 },
});

test("GitHub signatures: the example from GitHub's documentation verifies; a changed body or another secret does not", (t) => {
  // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  const secret = Buffer.from("It's a Secret to Everybody");
  const headers = { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' };
  t.is(github.credentialsProblem({ headers, body: Buffer.from('Hello, World!') }), undefined);
  t.true(github.authenticate({ headers, body: Buffer.from('Hello, World!') }, secret));
  t.false(github.authenticate({ headers, body: Buffer.from('Hello, World?') }, secret));
  t.false(github.authenticate({ headers, body: Buffer.from('Hello, World!') }, Buffer.from('another')));
  t.regex(github.credentialsProblem({ headers: {}, body: Buffer.alloc(0) })!, /missing/);
  t.regex(
    github.credentialsProblem({ headers: { 'x-hub-signature-256': 'sha1=abc' }, body: Buffer.alloc(0) })!,
    /64 lowercase hex/,
  );
});

test('Bitbucket and Gitea/Forgejo signatures: HMAC-SHA256 of the raw body, in their own headers and forms', (t) => {
  const secret = Buffer.from('bb-secret');
  const body = Buffer.from('{"push":{"changes":[]}}');
  const hex = createHmac('sha256', secret).update(body).digest('hex');
  const bb = (value?: string) => ({ headers: value === undefined ? {} : { 'x-hub-signature': value }, body });
  t.is(bitbucket.credentialsProblem(bb(`sha256=${hex}`)), undefined);
  t.true(bitbucket.authenticate(bb(`sha256=${hex}`), secret));
  t.false(bitbucket.authenticate(bb(`sha256=${hex}`), Buffer.from('another')));
  t.false(bitbucket.authenticate({ ...bb(`sha256=${hex}`), body: Buffer.from('{}') }, secret));
  t.regex(bitbucket.credentialsProblem(bb())!, /X-Hub-Signature header is missing: .*Bitbucket/);
  t.regex(bitbucket.credentialsProblem(bb(hex))!, /X-Hub-Signature header is not "sha256=" and 64 lowercase hex/);

  // Gitea sends bare hex; Forgejo sends X-Forgejo-Signature (and the Gitea one too).
  const gt = (headers: Record<string, string>) => ({ headers, body });
  t.is(gitea.credentialsProblem(gt({ 'x-gitea-signature': hex })), undefined);
  t.true(gitea.authenticate(gt({ 'x-gitea-signature': hex }), secret));
  t.true(gitea.authenticate(gt({ 'x-forgejo-signature': hex, 'x-gitea-signature': hex }), secret));
  t.false(gitea.authenticate(gt({ 'x-forgejo-signature': hex }), Buffer.from('another')));
  t.regex(gitea.credentialsProblem(gt({}))!, /X-Forgejo-Signature or X-Gitea-Signature header is missing/);
  t.regex(gitea.credentialsProblem(gt({ 'x-gitea-signature': `sha256=${hex}` }))!, /is not 64 lowercase hex digits/);
});

test('Bitbucket pushes: Cloud changes and Server refs_changed, branches only; several branches at once', (t) => {
  const req = (event: string) => ({ headers: { 'x-event-key': event }, body: Buffer.alloc(0) });
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  const branch = (name: string, hash: string) => ({ type: 'branch', name, target: { type: 'commit', hash } });
  t.like(bitbucket.interpret(req('repo:push'), { push: { changes: [{ new: branch('main', a), old: null }] } }), {
    kind: 'push',
    pushes: [{ ref: 'refs/heads/main', commit: a, defaultBranchUnknown: true }],
  });
  const two = bitbucket.interpret(req('repo:push'), {
    push: {
      changes: [{ new: branch('feature', b) }, { new: null, old: branch('gone', a) }, { new: branch('main', a) }],
    },
  });
  t.like(two, { kind: 'push', pushes: [{ ref: 'refs/heads/feature' }, { ref: 'refs/heads/main' }] });
  t.like(
    bitbucket.interpret(req('repo:push'), {
      push: {
        changes: [{ new: { type: 'tag', name: 'v1', target: { hash: a } } }, { new: null, old: branch('x', a) }],
      },
    }),
    {
      kind: 'ignored',
      message: 'refs/tags/v1 is not a branch: only pushes to branches start builds; x was deleted: nothing to build',
    },
  );
  t.throws(() => bitbucket.interpret(req('repo:push'), { push: { changes: [{ new: branch('main', 'nope') }] } }), {
    message: /push\.changes\[0\]\.new\.target\.hash: must be a full commit id/,
  });
  t.throws(() => bitbucket.interpret(req('repo:push'), { push: {} }), {
    message: /push\.changes: must be a JSON array, got nothing/,
  });
  const server = (type: string, id: string, toHash: string) => ({
    changes: [{ ref: { id, displayId: id.split('/').pop(), type: 'BRANCH' }, refId: id, fromHash: a, toHash, type }],
  });
  t.like(bitbucket.interpret(req('repo:refs_changed'), server('UPDATE', 'refs/heads/main', b)), {
    kind: 'push',
    pushes: [{ ref: 'refs/heads/main', commit: b }],
  });
  t.like(bitbucket.interpret(req('repo:refs_changed'), server('DELETE', 'refs/heads/main', '0'.repeat(40))), {
    kind: 'ignored',
    message: 'refs/heads/main was deleted: nothing to build',
  });
  t.throws(() => bitbucket.interpret(req('repo:refs_changed'), server('UPDATE', 'refs/heads/ma..in', b)), {
    message: /changes\[0\]\.ref\.id: .* is not a valid git ref/,
  });
  const ping = bitbucket.interpret(req('diagnostics:ping'), {});
  t.is(ping.kind, 'ignored');
  t.regex((ping as { message: string }).message, /ping received/);
  t.like(bitbucket.interpret(req('pullrequest:created'), {}), { kind: 'ignored' });
  // Bitbucket never names the default branch: a config without a ref matches none of its pushes.
  const push = { ref: 'refs/heads/main', commit: a, defaultBranchUnknown: true };
  t.regex(branchMismatch(config(), push)!, /set source\.git\.ref/);
  t.is(branchMismatch(config('main'), push), undefined);
});

test("Gitea and Forgejo pushes: GitHub's payload form, Forgejo's or Gitea's event header", (t) => {
  const p = { ref: 'refs/heads/main', after: 'c'.repeat(40), repository: { default_branch: 'main' } };
  t.like(gitea.interpret({ headers: { 'x-gitea-event': 'push' }, body: Buffer.alloc(0) }, p), {
    kind: 'push',
    pushes: [{ ref: 'refs/heads/main', commit: 'c'.repeat(40), defaultBranch: 'main' }],
  });
  t.like(gitea.interpret({ headers: { 'x-forgejo-event': 'push' }, body: Buffer.alloc(0) }, p), { kind: 'push' });
  t.like(gitea.interpret({ headers: { 'x-gitea-event': 'create' }, body: Buffer.alloc(0) }, p), {
    kind: 'ignored',
    message: 'Gitea event "create" starts no build: only push does',
  });
  t.throws(() => gitea.interpret({ headers: { 'x-gitea-event': 'push' }, body: Buffer.alloc(0) }, { ref: 'main' }), {
    message: /Gitea push payload.*after: must be a string/,
  });
});

test('GitLab tokens and generic URL secrets compare whole values, whatever their lengths', (t) => {
  const secret = Buffer.from('token-123');
  t.true(gitlab.authenticate({ headers: { 'x-gitlab-token': 'token-123' }, body: Buffer.alloc(0) }, secret));
  for (const wrong of ['token-12', 'token-1234', '', 'TOKEN-123']) {
    t.false(gitlab.authenticate({ headers: { 'x-gitlab-token': wrong }, body: Buffer.alloc(0) }, secret), wrong);
    t.false(generic.authenticate({ headers: {}, body: Buffer.alloc(0), urlSecret: wrong }, secret), wrong);
  }
  t.true(generic.authenticate({ headers: {}, body: Buffer.alloc(0), urlSecret: 'token-123' }, secret));
});

test('a push concerns a config that builds its branch, or the default branch when the config names none', (t) => {
  const push = (ref: string, defaultBranch?: string) => ({ ref, commit: 'a'.repeat(40), defaultBranch });
  t.is(branchMismatch(config('main'), push('refs/heads/main')), undefined);
  t.is(branchMismatch(config('refs/heads/main'), push('refs/heads/main')), undefined);
  t.regex(branchMismatch(config('main'), push('refs/heads/feature'))!, /builds main, not refs\/heads\/feature/);
  t.regex(branchMismatch(config('v1.0'), push('refs/heads/main'))!, /builds v1\.0/);
  t.is(branchMismatch(config(), push('refs/heads/trunk', 'trunk')), undefined);
  t.regex(branchMismatch(config(), push('refs/heads/main', 'trunk'))!, /default branch \(trunk\)/);
  // A generic delivery without a ref builds the config's own.
  t.is(branchMismatch(config('main'), {}), undefined);
});

test('payloads are checked field by field, and what starts nothing says why', (t) => {
  const req = (event: string) => ({ headers: { 'x-github-event': event }, body: Buffer.alloc(0) });
  t.throws(() => github.interpret(req('push'), []), { message: /body: must be a JSON object, got an array/ });
  t.throws(() => github.interpret(req('push'), { ref: 'refs/heads/main' }), {
    message: /after: must be a string, got nothing/,
  });
  t.throws(() => github.interpret(req('push'), { ref: 'refs/heads/ma..in', after: 'a'.repeat(40) }), {
    message: /ref: .* is not a valid git ref/,
  });
  t.throws(() => github.interpret(req('push'), { ref: 'refs/heads/main', after: 'A'.repeat(40) }), {
    message: /after: must be a full commit id/,
  });
  t.like(
    github.interpret(req('push'), {
      ref: 'refs/heads/main',
      after: 'b'.repeat(64),
      repository: { default_branch: 'main' },
    }),
    {
      kind: 'push',
      pushes: [{ ref: 'refs/heads/main', commit: 'b'.repeat(64), defaultBranch: 'main' }],
    },
  );
  t.like(github.interpret(req('push'), { ref: 'refs/heads/main', after: '0'.repeat(40), deleted: true }), {
    kind: 'ignored',
  });
  t.like(github.interpret(req('ping'), {}), { kind: 'ignored' });
  const gl = (o: object) => gitlab.interpret({ headers: { 'x-gitlab-event': 'Push Hook' }, body: Buffer.alloc(0) }, o);
  t.like(gl({ ref: 'refs/heads/main', after: '0'.repeat(40), checkout_sha: null }), {
    kind: 'ignored',
    message: 'refs/heads/main was deleted: nothing to build',
  });
  t.like(
    gl({
      ref: 'refs/heads/main',
      after: 'c'.repeat(40),
      checkout_sha: 'c'.repeat(40),
      project: { default_branch: 'main' },
    }),
    { kind: 'push', pushes: [{ commit: 'c'.repeat(40) }] },
  );
  const gen = (o: unknown) => generic.interpret({ headers: {}, body: Buffer.alloc(0) }, o);
  t.like(gen(undefined), { kind: 'push', pushes: [{}] });
  t.like(gen({ git: { ref: 'main', commit: 'abc1234' } }), {
    kind: 'push',
    pushes: [{ ref: 'refs/heads/main', commit: 'abc1234' }],
  });
  t.like(gen({ git: { ref: 'refs/tags/v1' } }), { kind: 'ignored' });
  t.throws(() => gen({ git: 'main' }), { message: /git: must be a JSON object/ });
});

test(`a config keeps the last ${MAX_WEBHOOK_DELIVERIES} deliveries, oldest dropped first`, (t) => {
  let status: BuildConfig['status'] = { lastVersion: 0, lastTriggeredGeneration: 3 };
  for (let i = 1; i <= MAX_WEBHOOK_DELIVERIES + 20; i++) {
    status = withDelivery(status, { type: 'GitHub', id: `d${i}`, version: i, timestamp: '2026-01-01T00:00:00Z' });
  }
  t.is(status.webhookDeliveries!.length, MAX_WEBHOOK_DELIVERIES);
  t.is(status.webhookDeliveries![0]!.id, 'd21');
  t.is(status.webhookDeliveries!.at(-1)!.id, `d${MAX_WEBHOOK_DELIVERIES + 20}`);
  t.is(status.lastTriggeredGeneration, 3);
});
