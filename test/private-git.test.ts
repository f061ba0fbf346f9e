import { randomBytes } from 'node:crypto';
import test from 'ava';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startHttpGitServer } from './helpers/http-git-server.js';
import { storedText } from './helpers/stored-state.js';
import { startSshGitServer } from './helpers/ssh-git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

test.serial(
  'a private repository over HTTP builds with a token; a wrong or missing token fails naming auth; the token is stored nowhere in the clear',
  async (t) => {
    const env = testEnvironment();
    const token = `tok-${unique()}${unique()}`;
    const git = await startGitServer(t);
    await git.createRepo('private-app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo built > /x\n` });
    const http = await startHttpGitServer(t, git.root, 'ci-bot', token);
    const sw = await startSlipway(t, { concurrency: 3 });
    await sw.client.createSecret({
      metadata: { name: 'git-good' },
      type: 'basic-auth',
      registry: '',
      username: 'ci-bot',
      password: token,
    });
    await sw.client.createSecret({
      metadata: { name: 'git-bad' },
      type: 'basic-auth',
      registry: '',
      username: 'ci-bot',
      password: 'not-the-token',
    });

    const cases = [
      { name: 'good-token', secret: 'git-good', phase: 'Complete' },
      { name: 'bad-token', secret: 'git-bad', phase: 'Failed', says: /refused the source secret's credentials/ },
      { name: 'no-token', secret: undefined, phase: 'Failed', says: /without credentials/ },
    ];
    for (const c of cases) {
      const config = dockerBuildConfig(
        c.name,
        `${http.base}/private-app`,
        `${env.registry}/test/${c.name}-${unique()}:v1`,
      );
      if (c.secret) config.spec!.source!.sourceSecret = { name: c.secret };
      await sw.client.createBuildConfig(config);
      await sw.client.startBuild({ namespace: 'default', configName: c.name });
    }
    for (const c of cases) {
      const final = await sw.client.waitForBuild('default', `${c.name}-1`);
      t.is(final.status!.phase, c.phase, `${c.name}: ${final.status!.message}`);
      if (c.says) {
        t.is(final.status!.reason, 'GitAuthenticationFailed', c.name);
        t.regex(final.status!.message, c.says, c.name);
      }
    }
    t.true(http.requests() > 0);

    // The token is in no log line, no build's state, and not in the clear in the secrets bucket.
    const stored = await storedText(t, sw.natsUrl);
    t.true(stored.logs.length >= 3);
    const base64 = Buffer.from(`ci-bot:${token}`).toString('base64');
    for (const r of stored.logs) t.false(r.includes(token) || r.includes(base64));
    for (const v of stored.values) t.false(v.text.includes(token) || v.text.includes(base64), v.where);
  },
);

test.serial(
  'a private repository over ssh builds with a key (host key checked), and a key it does not know fails naming auth',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    await git.createRepo('ssh-app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo via-ssh > /x\n` });
    const ssh = await startSshGitServer(t);
    const sw = await startSlipway(t, { concurrency: 2 });
    await sw.client.createSecret({
      metadata: { name: 'deploy-key' },
      type: 'ssh-auth',
      sshPrivateKey: ssh.clientKey,
      knownHosts: ssh.knownHosts,
    });
    await sw.client.createSecret({
      metadata: { name: 'stranger-key' },
      type: 'ssh-auth',
      sshPrivateKey: ssh.strangerKey,
      knownHosts: ssh.knownHosts,
    });

    for (const [name, secret] of [
      ['ssh-good', 'deploy-key'],
      ['ssh-bad', 'stranger-key'],
    ]) {
      const config = dockerBuildConfig(
        name!,
        `${ssh.base}${git.root}/ssh-app`,
        `${env.registry}/test/${name}-${unique()}:v1`,
      );
      config.spec!.source!.sourceSecret = { name: secret! };
      await sw.client.createBuildConfig(config);
      await sw.client.startBuild({ namespace: 'default', configName: name! });
    }
    const good = await sw.client.waitForBuild('default', 'ssh-good-1');
    t.is(good.status!.phase, 'Complete', good.status!.message);
    const bad = await sw.client.waitForBuild('default', 'ssh-bad-1');
    t.is(bad.status!.phase, 'Failed');
    t.is(bad.status!.reason, 'GitAuthenticationFailed', bad.status!.message);
    t.regex(bad.status!.message, /Permission denied \(publickey/);

    // The key's body is nowhere in NATS in the clear.
    const keyLine = ssh.clientKey.split('\n')[1]!;
    for (const v of (await storedText(t, sw.natsUrl)).values) t.false(v.text.includes(keyLine), v.where);
  },
);
