import { createHmac, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { run } from './helpers/processes.js';
import { storedText } from './helpers/stored-state.js';
import { capturedLog, post, repoWithConfig, unique, type Answer } from './helpers/webhooks.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/slipway.js');

function githubHeaders(
  body: string,
  secret: string,
  o: { event?: string; delivery?: string } = {},
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': o.event ?? 'push',
    'x-github-delivery': o.delivery ?? randomUUID(),
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

/** A push payload as GitHub sends it (the fields Slipway reads, and a few it does not). */
function githubPush(repo: string, ref: string, before: string, after: string): string {
  return JSON.stringify({
    ref,
    before,
    after,
    created: false,
    deleted: /^0+$/.test(after),
    repository: {
      name: repo,
      full_name: `acme/${repo}`,
      default_branch: 'main',
      clone_url: `https://github.com/acme/${repo}.git`,
    },
    pusher: { name: 'octocat' },
    head_commit: { id: after, message: 'change' },
  });
}

test.serial(
  'a signed GitHub push delivered 3 times (two copies at once, to two coordinators) starts exactly one build, at the pushed commit; a wrongly signed or unsigned one starts none',
  async (t) => {
    const secret = `gh-${unique()}${unique()}${unique()}`;
    const logs = capturedLog();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, {
      coordinators: 2,
      coordinator: { httpListen: '127.0.0.1:0' },
      coordinatorLog: logs.log,
    });
    await sw.client.createSecret({ metadata: { name: 'gh-hook' }, type: 'webhook', password: secret });
    const repo = await repoWithConfig(sw, git, 'gh-app', [{ type: 'GitHub', secret: { name: 'gh-hook' } }]);
    const sha = await git.pushCommit('gh-app', { version: 'v2\n' }, { message: 'v2' });
    t.not(sha, repo.commit);
    const url = (n: number) => `${sw.coordinators[n]!.http!.url}/webhooks/default/gh-app/github`;
    const body = githubPush('gh-app', 'refs/heads/main', repo.commit, sha);
    const answers: Answer[] = [];

    // Wrongly signed and unsigned deliveries are refused and start nothing.
    const wrong = await post(url(0), body, githubHeaders(body, 'not-the-secret'));
    t.is(wrong.status, 401, wrong.text);
    const unsigned = await post(url(0), body, {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
    });
    t.is(unsigned.status, 401, unsigned.text);
    t.regex(unsigned.json.message!, /X-Hub-Signature-256 header is missing/);
    // A body changed after signing is refused too (the signature covers the raw bytes).
    const tampered = await post(url(0), body.replace('"octocat"', '"mallory"'), githubHeaders(body, secret));
    t.is(tampered.status, 401, tampered.text);
    answers.push(wrong, unsigned, tampered);
    t.is((await sw.client.listBuilds({ namespace: 'default', configName: 'gh-app' })).length, 0);

    // The right one, three times with one delivery id: twice at once, one copy to each coordinator, then again.
    const headers = githubHeaders(body, secret);
    const concurrent = await Promise.all([post(url(0), body, headers), post(url(1), body, headers)]);
    const again = await post(url(0), body, headers);
    const all = [...concurrent, again];
    answers.push(...all);
    t.deepEqual(all.map((a) => a.status).sort(), [200, 200, 201], all.map((a) => a.text).join('\n'));
    const started = all.find((a) => a.status === 201)!;
    const build = started.json.build!;
    t.is(build, 'gh-app-1');
    for (const dup of all.filter((a) => a.status === 200)) t.like(dup.json, { build, duplicate: true });

    const builds = await sw.client.listBuilds({ namespace: 'default', configName: 'gh-app' });
    t.deepEqual(
      builds.map((b) => b.metadata!.name),
      [build],
    );
    const final = await sw.client.waitForBuild('default', build);
    t.is(final.status!.phase, 'Complete', final.status!.message);
    t.is(final.status!.commit, sha);
    t.is(final.spec!.config!.source!.git!.ref, sha);
    const cause = final.spec!.triggeredBy[0]!;
    t.is(cause.type, 'GitHub');
    t.like(cause.git, { ref: 'refs/heads/main', commit: sha, deliveryId: headers['x-github-delivery'] });
    // slipway describe names the cause and the commit it was for.
    const described = await run(process.execPath, [
      BIN,
      '--server',
      sw.coordinators[0]!.address,
      'describe',
      'build',
      build,
    ]);
    t.regex(described, new RegExp(`\nCause:\n  GitHub  .*\\(commit ${sha}, ref refs/heads/main\\)\n`));
    const cfg = await sw.client.getBuildConfig('default', 'gh-app');
    t.like(cfg.status!.webhookDeliveries, [{ type: 'GitHub', id: headers['x-github-delivery'], version: 1 }]);

    // A ping is answered and starts nothing.
    const pingBody = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const ping = await post(url(1), pingBody, githubHeaders(pingBody, secret, { event: 'ping' }));
    t.is(ping.status, 200, ping.text);
    t.regex(ping.json.message!, /ping/);
    answers.push(ping);
    t.is((await sw.client.listBuilds({ namespace: 'default', configName: 'gh-app' })).length, 1);

    // The secret is in no answer, no log line, and nowhere NATS stores in the clear.
    for (const a of answers) t.false(a.text.includes(secret), a.text);
    t.true(logs.lines.some((l) => l.includes('webhook started a build')));
    t.true(logs.lines.some((l) => l.includes('the secret does not match')));
    for (const l of logs.lines) t.false(l.includes(secret), l);
    for (const v of (await storedText(t, sw.natsUrl)).values) t.false(v.text.includes(secret), v.where);
  },
);

test.serial(
  'GitHub deliveries that start nothing: another branch, a tag, a deleted branch, other events; bad requests get specific answers; an unknown config is answered as a bad secret',
  async (t) => {
    const secret = `gh-${unique()}${unique()}`;
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0, coordinator: { httpListen: '127.0.0.1:0' } });
    await sw.client.createSecret({ metadata: { name: 'gh-hook' }, type: 'webhook', password: secret });
    await sw.client.createSecret({
      metadata: { name: 'not-a-hook' },
      type: 'basic-auth',
      username: 'u',
      password: secret,
    });
    const repo = await repoWithConfig(sw, git, 'gh-quiet', [{ type: 'GitHub', secret: { name: 'gh-hook' } }]);
    await repoWithConfig(sw, git, 'gh-wrong-type', [{ type: 'GitHub', secret: { name: 'not-a-hook' } }]);
    const base = sw.coordinators[0]!.http!.url;
    const url = `${base}/webhooks/default/gh-quiet/github`;
    const feature = await git.pushCommit('gh-quiet', { version: 'feature\n' }, { branch: 'feature' });

    const cases: { what: string; body: string; event?: string; says: RegExp }[] = [
      {
        what: 'another branch',
        body: githubPush('gh-quiet', 'refs/heads/feature', repo.commit, feature),
        says: /builds main, not refs\/heads\/feature/,
      },
      {
        what: 'a tag',
        body: githubPush('gh-quiet', 'refs/tags/v1', '0'.repeat(40), repo.commit),
        says: /not a branch/,
      },
      {
        what: 'a deleted branch',
        body: githubPush('gh-quiet', 'refs/heads/main', repo.commit, '0'.repeat(40)),
        says: /was deleted/,
      },
      { what: 'an issue event', body: JSON.stringify({ action: 'opened' }), event: 'issues', says: /only push/ },
    ];
    for (const c of cases) {
      const a = await post(url, c.body, githubHeaders(c.body, secret, { event: c.event }));
      t.is(a.status, 200, `${c.what}: ${a.text}`);
      t.regex(a.json.message!, c.says, c.what);
    }

    const body = githubPush('gh-quiet', 'refs/heads/main', repo.commit, repo.commit);
    // Unknown config, a config without the trigger's secret type, and a wrong secret: one answer.
    const unknown = await post(`${base}/webhooks/default/no-such-config/github`, body, githubHeaders(body, secret));
    const badSecret = await post(url, body, githubHeaders(body, 'wrong'));
    const wrongType = await post(`${base}/webhooks/default/gh-wrong-type/github`, body, githubHeaders(body, secret));
    const badName = await post(`${base}/webhooks/NOT_A_NAMESPACE/gh-quiet/github`, body, githubHeaders(body, secret));
    const noTrigger = await post(`${base}/webhooks/default/gh-quiet/gitlab`, body, {
      'content-type': 'application/json',
      'x-gitlab-token': secret,
      'x-gitlab-event': 'Push Hook',
    });
    for (const a of [unknown, wrongType, badName, noTrigger]) {
      t.is(a.status, 401, a.text);
      t.is(a.text, badSecret.text);
    }
    t.is(badSecret.status, 401);

    const form = await post(url, `payload=${encodeURIComponent(body)}`, {
      ...githubHeaders(body, secret),
      'content-type': 'application/x-www-form-urlencoded',
    });
    t.is(form.status, 415, form.text);
    t.regex(form.json.message!, /application\/json/);
    const huge = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(1024 * 1024) });
    const tooLarge = await post(url, huge, githubHeaders(huge, secret));
    t.is(tooLarge.status, 413, tooLarge.text);
    // The same without a Content-Length (chunked): refused once the limit is passed while reading.
    const chunks = [Buffer.from(huge.slice(0, 600_000)), Buffer.from(huge.slice(600_000))];
    const chunked = await fetch(url, {
      method: 'POST',
      headers: githubHeaders(huge, secret),
      body: new ReadableStream({ pull: (c) => (chunks.length > 0 ? c.enqueue(chunks.shift()) : c.close()) }),
      duplex: 'half',
    } as RequestInit);
    t.is(chunked.status, 413, await chunked.text());
    const malformed = '{"ref": "refs/heads/main", "after": }';
    const badJson = await post(url, malformed, githubHeaders(malformed, secret));
    t.is(badJson.status, 400, badJson.text);
    t.regex(badJson.json.message!, /not valid JSON/);
    const noAfter = JSON.stringify({ ref: 'refs/heads/main', after: 'not-a-commit' });
    const badCommit = await post(url, noAfter, githubHeaders(noAfter, secret));
    t.is(badCommit.status, 400, badCommit.text);
    t.regex(badCommit.json.message!, /after: must be a full commit id/);
    const get = await fetch(url);
    t.is(get.status, 405);

    t.is((await sw.client.listBuilds({ namespace: 'default' })).length, 0);
  },
);

test.serial(
  'GitLab: the right token starts a build at the pushed commit, once per delivery; a wrong or missing token starts none',
  async (t) => {
    const secret = `gl-${unique()}${unique()}`;
    const logs = capturedLog();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { coordinator: { httpListen: '127.0.0.1:0' }, coordinatorLog: logs.log });
    await sw.client.createSecret({ metadata: { name: 'gl-hook' }, type: 'webhook', password: secret });
    const repo = await repoWithConfig(sw, git, 'gl-app', [{ type: 'GitLab', secret: { name: 'gl-hook' } }]);
    const sha = await git.pushCommit('gl-app', { version: 'v2\n' });
    const url = `${sw.coordinators[0]!.http!.url}/webhooks/default/gl-app/gitlab`;
    const body = JSON.stringify({
      object_kind: 'push',
      ref: 'refs/heads/main',
      before: repo.commit,
      after: sha,
      checkout_sha: sha,
      project: { path_with_namespace: 'acme/gl-app', default_branch: 'main' },
      commits: [{ id: sha, message: 'v2' }],
    });
    const headers = (token: string | undefined, uuid = randomUUID()) => ({
      'content-type': 'application/json',
      'x-gitlab-event': 'Push Hook',
      'x-gitlab-event-uuid': uuid,
      ...(token === undefined ? {} : { 'x-gitlab-token': token }),
    });

    const wrong = await post(url, body, headers('wrong-token'));
    t.is(wrong.status, 401, wrong.text);
    const missing = await post(url, body, headers(undefined));
    t.is(missing.status, 401, missing.text);
    t.regex(missing.json.message!, /X-Gitlab-Token/);
    t.is((await sw.client.listBuilds({ namespace: 'default', configName: 'gl-app' })).length, 0);

    const uuid = randomUUID();
    const first = await post(url, body, headers(secret, uuid));
    t.is(first.status, 201, first.text);
    const second = await post(url, body, headers(secret, uuid));
    t.is(second.status, 200, second.text);
    t.like(second.json, { build: first.json.build, duplicate: true });
    const tag = await post(url, JSON.stringify({ object_kind: 'tag_push', ref: 'refs/tags/v1', checkout_sha: sha }), {
      ...headers(secret),
      'x-gitlab-event': 'Tag Push Hook',
    });
    t.is(tag.status, 200, tag.text);

    const final = await sw.client.waitForBuild('default', first.json.build!);
    t.is(final.status!.phase, 'Complete', final.status!.message);
    t.is(final.status!.commit, sha);
    t.like(final.spec!.triggeredBy[0], {
      type: 'GitLab',
      git: { ref: 'refs/heads/main', commit: sha, deliveryId: uuid },
    });
    t.is((await sw.client.listBuilds({ namespace: 'default', configName: 'gl-app' })).length, 1);
    for (const a of [wrong, missing, first, second, tag]) t.false(a.text.includes(secret));
    for (const l of logs.lines) t.false(l.includes(secret), l);
  },
);

test.serial(
  "Generic: without a body it builds the config's branch; with one, the commit it names (an older one); the URL secret is checked and logged nowhere",
  async (t) => {
    const secret = `generic-${unique()}${unique()}`;
    const logs = capturedLog();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { coordinator: { httpListen: '127.0.0.1:0' }, coordinatorLog: logs.log });
    await sw.client.createSecret({ metadata: { name: 'any-hook' }, type: 'webhook', password: secret });
    const repo = await repoWithConfig(sw, git, 'gen-app', [{ type: 'Generic', secret: { name: 'any-hook' } }]);
    const tip = await git.pushCommit('gen-app', { version: 'v2\n' });
    const base = sw.coordinators[0]!.http!.url;
    const url = (s: string) => `${base}/webhooks/default/gen-app/generic/${encodeURIComponent(s)}`;

    const wrong = await post(url(`${secret}x`), undefined, {});
    t.is(wrong.status, 401, wrong.text);

    // No body: the config's ref (main), at its tip when the agent fetches it.
    const bare = await post(url(secret), undefined, {});
    t.is(bare.status, 201, bare.text);
    // A body naming the first commit, which is no longer main's tip: that commit is built.
    const older = JSON.stringify({
      type: 'Git',
      git: { uri: repo.uri, ref: 'main', commit: repo.commit, message: 'rebuild' },
    });
    const key = randomUUID();
    const pinned = await post(url(secret), older, { 'content-type': 'application/json', 'idempotency-key': key });
    t.is(pinned.status, 201, pinned.text);
    const repeat = await post(url(secret), older, { 'content-type': 'application/json', 'idempotency-key': key });
    t.like(repeat, { status: 200, json: { build: pinned.json.build, duplicate: true } });
    const otherBranch = await post(url(secret), JSON.stringify({ git: { ref: 'feature' } }), {
      'content-type': 'application/json',
    });
    t.is(otherBranch.status, 200, otherBranch.text);
    t.regex(otherBranch.json.message!, /builds main, not refs\/heads\/feature/);
    const badCommit = await post(url(secret), JSON.stringify({ git: { commit: 'xyz' } }), {
      'content-type': 'application/json',
    });
    t.is(badCommit.status, 400, badCommit.text);
    t.regex(badCommit.json.message!, /git\.commit/);
    const notJson = await post(url(secret), 'ref=main', { 'content-type': 'text/plain' });
    t.is(notJson.status, 415, notJson.text);

    const first = await sw.client.waitForBuild('default', bare.json.build!);
    t.is(first.status!.phase, 'Complete', first.status!.message);
    t.is(first.status!.commit, tip);
    t.like(first.spec!.triggeredBy[0], { type: 'Generic', git: { ref: 'main' } });
    const second = await sw.client.waitForBuild('default', pinned.json.build!);
    t.is(second.status!.phase, 'Complete', second.status!.message);
    t.is(second.status!.commit, repo.commit);
    t.like(second.spec!.triggeredBy[0], {
      type: 'Generic',
      git: { ref: 'refs/heads/main', commit: repo.commit, deliveryId: key },
    });
    t.is((await sw.client.listBuilds({ namespace: 'default', configName: 'gen-app' })).length, 2);

    for (const a of [wrong, bare, pinned, repeat, otherBranch, badCommit, notJson]) t.false(a.text.includes(secret));
    t.true(logs.lines.some((l) => l.includes('webhook started a build')));
    for (const l of logs.lines) t.false(l.includes(secret), l);
    for (const v of (await storedText(t, sw.natsUrl)).values) t.false(v.text.includes(secret), v.where);
  },
);

test.serial(
  'a webhook secret: made with the CLI from standard input, or over gRPC with its value only; never answered, and never handed to a build',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { coordinator: { httpListen: '127.0.0.1:0' } });
    const server = sw.coordinators[0]!.address;

    // The CLI reads the value from standard input (one trailing newline dropped, as from a file).
    const value = `cli-${unique()}${unique()}`;
    t.is(
      await run(
        process.execPath,
        [BIN, '--server', server, 'create', 'secret', 'webhook', 'from-cli', '--value-stdin'],
        { input: `${value}\n` },
      ),
      'secret/from-cli created\n',
    );
    const usage = await run(process.execPath, [
      BIN,
      '--server',
      server,
      'create',
      'secret',
      'webhook',
      'no-value',
    ]).catch((e: Error) => e.message);
    t.regex(usage, /exited 2[\s\S]*--value-stdin/);
    const cliRepo = await git.createRepo('cli-hook', { Dockerfile: `FROM ${env.baseImage}\n` });
    const cliConfig = dockerBuildConfig('cli-hook', cliRepo.uri, `${env.registry}/test/cli-hook-${unique()}:v1`);
    cliConfig.spec!.triggers = [{ type: 'Generic', secret: { name: 'from-cli' } }];
    await sw.client.createBuildConfig(cliConfig);
    const url = (s: string) => `${sw.coordinators[0]!.http!.url}/webhooks/default/cli-hook/generic/${s}`;
    t.is((await post(url(encodeURIComponent(`${value}\n`)), undefined, {})).status, 401);
    t.is((await post(url(value), undefined, {})).status, 201);

    const made = await sw.client.createSecret({ metadata: { name: 'hook' }, type: 'webhook', password: 'v3ry-s3cret' });
    t.is(made.type, 'webhook');
    t.is(made.password, '');
    const err = await t.throwsAsync(
      sw.client.createSecret({ metadata: { name: 'hook2' }, type: 'webhook', username: 'u', password: '' }),
    );
    t.regex(err!.message, /secret\.password: is required/);
    t.regex(err!.message, /secret\.username: is not used by a webhook secret/);
    t.false(err!.message.includes('v3ry-s3cret'));

    // A config naming it as a source secret: the build is told there is no such secret.
    const repo = await git.createRepo('hook-as-credentials', { Dockerfile: `FROM ${env.baseImage}\n` });
    const config = dockerBuildConfig('hook-as-credentials', repo.uri, `${env.registry}/test/hook-${unique()}:v1`);
    config.spec!.source!.sourceSecret = { name: 'hook' };
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'hook-as-credentials' });
    const final = await sw.client.waitForBuild('default', 'hook-as-credentials-1');
    t.is(final.status!.phase, 'Failed');
    t.is(final.status!.reason, 'MissingSourceSecret', final.status!.message);
  },
);
