import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { SlipwayClient } from '../cli/client.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startHttpGitServer } from './helpers/http-git-server.js';
import { lfsStore, startLfsServer } from './helpers/lfs-server.js';
import { startSshGitServer } from './helpers/ssh-git-server.js';
import { stepOutput } from './helpers/log-lines.js';
import { storedText } from './helpers/stored-state.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

async function stepLines(client: SlipwayClient, name: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of client.streamBuildLogs({ namespace: 'default', name })) {
    const out = stepOutput(l.text);
    if (out !== undefined) lines.push(out);
  }
  return lines;
}

test.serial(
  'submodules (relative and absolute URL, private, same secret) are in the context; submodules: false leaves them out; one that cannot be fetched fails naming it, and the secret goes to no other host',
  async (t) => {
    const env = testEnvironment();
    const u = unique();
    const token = `tok-${unique()}${unique()}`;
    const git = await startGitServer(t);
    const http = await startHttpGitServer(t, git.root, 'ci-bot', token);
    const elsewhere = await startLfsServer(t); // any HTTP server that notes what it is sent
    const rel = await git.createRepo('lib-rel', { 'rel.txt': `from-relative-${u}\n` });
    const abs = await git.createRepo('lib-abs', { 'abs.txt': `from-absolute-${u}\n` });
    await git.createRepo(
      'app',
      {
        Dockerfile: `FROM ${env.baseImage}\nCOPY rel/rel.txt abs/abs.txt /x/\nRUN cat /x/rel.txt /x/abs.txt\n`,
      },
      {
        submodules: [
          { path: 'rel', url: '../lib-rel', commit: rel.commit },
          { path: 'abs', url: `${http.base}/lib-abs`, commit: abs.commit },
        ],
      },
    );
    await git.createRepo(
      'app-broken',
      { Dockerfile: `FROM ${env.baseImage}\n` },
      {
        submodules: [
          { path: 'rel', url: '../lib-rel', commit: rel.commit },
          { path: 'vendor/missing', url: `${elsewhere.url}/missing-${u}`, commit: abs.commit },
        ],
      },
    );
    const sw = await startSlipway(t, { concurrency: 3 });
    await sw.client.createSecret({
      metadata: { name: 'git-token' },
      type: 'basic-auth',
      registry: '',
      username: 'ci-bot',
      password: token,
    });
    const config = (name: string, repo: string) => {
      const c = dockerBuildConfig(name, `${http.base}/${repo}`, `${env.registry}/test/${name}-${u}:v1`);
      c.spec!.source!.sourceSecret = { name: 'git-token' };
      return c;
    };
    await sw.client.createBuildConfig(config('with-subs', 'app'));
    const off = config('without-subs', 'app');
    off.spec!.source!.git!.submodules = false;
    off.spec!.source!.dockerfile = `FROM ${env.baseImage}\nCOPY . /src\nRUN test ! -e /src/rel/rel.txt && test ! -e /src/abs/abs.txt && echo no-submodules-${u}\n`;
    await sw.client.createBuildConfig(off);
    await sw.client.createBuildConfig(config('broken-subs', 'app-broken'));
    for (const name of ['with-subs', 'without-subs', 'broken-subs'])
      await sw.client.startBuild({ namespace: 'default', configName: name });

    const withSubs = await sw.client.waitForBuild('default', 'with-subs-1');
    t.is(withSubs.status!.phase, 'Complete', withSubs.status!.message);
    const printed = await stepLines(sw.client, 'with-subs-1');
    t.true(printed.includes(`from-relative-${u}`), printed.join('\n'));
    t.true(printed.includes(`from-absolute-${u}`), printed.join('\n'));

    const withoutSubs = await sw.client.waitForBuild('default', 'without-subs-1');
    if (withoutSubs.status!.phase !== 'Complete')
      for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'without-subs-1' })) t.log(l.text);
    t.is(withoutSubs.status!.phase, 'Complete', withoutSubs.status!.message);
    t.true((await stepLines(sw.client, 'without-subs-1')).includes(`no-submodules-${u}`));
    const got = await sw.client.getBuildConfig('default', 'without-subs');
    t.is(got.spec!.source!.git!.submodules, false);

    const broken = await sw.client.waitForBuild('default', 'broken-subs-1');
    t.is(broken.status!.phase, 'Failed');
    t.is(broken.status!.reason, 'SubmoduleFetchFailed', broken.status!.message);
    t.log(broken.status!.message);
    t.regex(broken.status!.message, /submodule "vendor\/missing"/);
    t.true(elsewhere.authorizations().length > 0, 'the other host was asked');
    t.deepEqual(
      elsewhere.authorizations().filter((a) => a !== undefined),
      [],
      'the source secret went only to the source host',
    );

    const base64 = Buffer.from(`ci-bot:${token}`).toString('base64');
    const stored = await storedText(t, sw.natsUrl);
    for (const r of stored.logs) t.false(r.includes(token) || r.includes(base64));
    for (const v of stored.values) t.false(v.text.includes(token) || v.text.includes(base64), v.where);
  },
);

test.serial(
  'an LFS file (public, or private behind the source secret; in the repository, below it, or in a submodule) arrives as its content with git-lfs on the agent; an agent without git-lfs fails naming the file, never building with the pointer',
  async (t) => {
    const env = testEnvironment();
    const u = unique();
    const git = await startGitServer(t);
    const lfs = await startLfsServer(t);
    const lfsApp = await git.createRepo('lfs-app', {
      '.gitattributes': '*.bin filter=lfs diff=lfs merge=lfs -text\n',
      '.lfsconfig': `[lfs]\n\turl = ${lfs.url}\n`,
      'data.bin': lfs.add(`lfs-content-${u}\n`),
      Dockerfile: `FROM ${env.baseImage}\nCOPY data.bin /d\nRUN cat /d\n`,
    });
    // LFS tracked by a .gitattributes below the top level only.
    await git.createRepo('lfs-nested', {
      '.lfsconfig': `[lfs]\n\turl = ${lfs.url}\n`,
      'assets/.gitattributes': '*.bin filter=lfs diff=lfs merge=lfs -text\n',
      'assets/data.bin': lfs.add(`nested-lfs-${u}\n`),
      Dockerfile: `FROM ${env.baseImage}\nCOPY assets/data.bin /d\nRUN cat /d\n`,
    });
    // A private repository whose LFS objects are behind the same credentials, on the same server.
    const token = `tok-${unique()}${unique()}`;
    const privateObjects = lfsStore();
    const http = await startHttpGitServer(t, git.root, 'ci-bot', token, { lfs: privateObjects });
    const lfsPrivate = await git.createRepo('lfs-private', {
      '.gitattributes': '*.bin filter=lfs diff=lfs merge=lfs -text\n',
      'data.bin': privateObjects.add(`private-lfs-${u}\n`),
      Dockerfile: `FROM ${env.baseImage}\nCOPY data.bin /d\nRUN cat /d\n`,
    });
    // The same two as submodules of repositories that have no LFS files of their own.
    // (A RUN step of its own: the same COPY and RUN as the top-level build's would be cached, and print nothing.)
    const fromVendor = {
      Dockerfile: `FROM ${env.baseImage}\nCOPY vendor/data.bin /d\nRUN echo from-vendor && cat /d\n`,
    };
    await git.createRepo('lfs-outer', fromVendor, {
      submodules: [{ path: 'vendor', url: '../lfs-app', commit: lfsApp.commit }],
    });
    await git.createRepo('lfs-private-outer', fromVendor, {
      submodules: [{ path: 'vendor', url: '../lfs-private', commit: lfsPrivate.commit }],
    });
    const sw = await startSlipway(t, { agents: 0 });
    await addAgent(t, sw, { settings: { gitLfs: 'git-lfs' } });
    await sw.client.createSecret({
      metadata: { name: 'git-token' },
      type: 'basic-auth',
      registry: '',
      username: 'ci-bot',
      password: token,
    });
    await sw.client.createBuildConfig(
      dockerBuildConfig('lfs', `${git.base}/lfs-app`, `${env.registry}/test/lfs-${u}:v1`),
    );
    for (const name of ['lfs-outer', 'lfs-nested'])
      await sw.client.createBuildConfig(
        dockerBuildConfig(name, `${git.base}/${name}`, `${env.registry}/test/${name}-${u}:v1`),
      );
    for (const name of ['lfs-private', 'lfs-private-outer']) {
      const privateConfig = dockerBuildConfig(name, `${http.base}/${name}`, `${env.registry}/test/${name}-${u}:v1`);
      privateConfig.spec!.source!.sourceSecret = { name: 'git-token' };
      await sw.client.createBuildConfig(privateConfig);
    }
    for (const [name, content] of [
      ['lfs', `lfs-content-${u}`],
      ['lfs-private', `private-lfs-${u}`],
      ['lfs-outer', `lfs-content-${u}`],
      ['lfs-private-outer', `private-lfs-${u}`],
      ['lfs-nested', `nested-lfs-${u}`],
    ] as const) {
      await sw.client.startBuild({ namespace: 'default', configName: name });
      const built = await sw.client.waitForBuild('default', `${name}-1`);
      t.is(built.status!.phase, 'Complete', `${name}: ${built.status!.message}`);
      const printed = await stepLines(sw.client, `${name}-1`);
      t.true(printed.includes(content), `${name}: ${printed.join('\n')}`);
      t.false(
        printed.some((l) => l.startsWith('version https://git-lfs')),
        'the pointer is not what was built',
      );
    }

    // The same source on an agent that has no git-lfs.
    const without = await startSlipway(t, { agents: 0 });
    await addAgent(t, without, { settings: { gitLfs: `/nonexistent/git-lfs-${u}` } });
    await without.client.createBuildConfig(
      dockerBuildConfig('lfs', `${git.base}/lfs-app`, `${env.registry}/test/lfs-no-${u}:v1`),
    );
    await without.client.startBuild({ namespace: 'default', configName: 'lfs' });
    const failed = await without.client.waitForBuild('default', 'lfs-1');
    t.is(failed.status!.phase, 'Failed');
    t.is(failed.status!.reason, 'GitLfsUnavailable', failed.status!.message);
    t.regex(failed.status!.message, /1 Git LFS file\(s\) \(data\.bin\)/);
    await without.client.createBuildConfig(
      dockerBuildConfig('lfs-outer', `${git.base}/lfs-outer`, `${env.registry}/test/lfs-outer-no-${u}:v1`),
    );
    await without.client.startBuild({ namespace: 'default', configName: 'lfs-outer' });
    const failedOuter = await without.client.waitForBuild('default', 'lfs-outer-1');
    t.is(failedOuter.status!.phase, 'Failed');
    t.is(failedOuter.status!.reason, 'GitLfsUnavailable', failedOuter.status!.message);
    t.regex(failedOuter.status!.message, /submodule "vendor" .* 1 Git LFS file\(s\) \(vendor\/data\.bin\)/);
  },
);

test.serial('over ssh, a relative submodule pinned to an older commit is fetched with the same key', async (t) => {
  const env = testEnvironment();
  const u = unique();
  const git = await startGitServer(t);
  const ssh = await startSshGitServer(t);
  const lib = await git.createRepo('ssh-lib', { 'lib.txt': `pinned-${u}\n` });
  // The pinned commit is no longer the branch's tip: depth 1 of the branch does not hold it.
  await git.pushCommit('ssh-lib', { 'lib.txt': `newer-${u}\n` });
  await git.createRepo(
    'ssh-app',
    { Dockerfile: `FROM ${env.baseImage}\nCOPY lib/lib.txt /x\nRUN cat /x\n` },
    { submodules: [{ path: 'lib', url: '../ssh-lib', commit: lib.commit }] },
  );
  const sw = await startSlipway(t);
  await sw.client.createSecret({
    metadata: { name: 'deploy-key' },
    type: 'ssh-auth',
    sshPrivateKey: ssh.clientKey,
    knownHosts: ssh.knownHosts,
  });
  const config = dockerBuildConfig(
    'ssh-subs',
    `${ssh.base}${git.root}/ssh-app`,
    `${env.registry}/test/ssh-subs-${u}:v1`,
  );
  config.spec!.source!.sourceSecret = { name: 'deploy-key' };
  await sw.client.createBuildConfig(config);
  await sw.client.startBuild({ namespace: 'default', configName: 'ssh-subs' });
  const built = await sw.client.waitForBuild('default', 'ssh-subs-1');
  t.is(built.status!.phase, 'Complete', built.status!.message);
  const printed = await stepLines(sw.client, 'ssh-subs-1');
  t.true(printed.includes(`pinned-${u}`), printed.join('\n'));
});
