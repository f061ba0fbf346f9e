import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { credentialEnv } from '../agent/source/git-source.js';
import { validateBuildConfigSpec } from '../api/validation.js';
import { buildConfigInputFromProto } from '../coordinator/grpc/convert.js';
import { run } from './helpers/processes.js';

async function buildDir(t: { teardown: (f: () => Promise<void>) => void }): Promise<string> {
  const base = await mkdtemp(path.join(tmpdir(), 'slipway-gitcred-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  return path.join(base, 'src');
}

/** What git's own URL matching makes of http.extraHeader for `url`, in the environment given. */
async function headerFor(env: Record<string, string>, url: string): Promise<string> {
  return run('git', ['config', '--get-urlmatch', 'http.extraHeader', url], {
    env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...env },
  }).catch(() => '');
}

test('basic-auth credentials are configured for the source origin only, never for another host or port', async (t) => {
  const dir = await buildDir(t);
  const env = await credentialEnv({
    uri: 'https://git.example.com:8443/team/app.git',
    dir,
    credentials: { username: 'bot', password: "pa$$'word" },
  });
  t.false(JSON.stringify(env).includes("pa$$'word"), 'only the base64 form is in the environment');
  const basic = Buffer.from("bot:pa$$'word").toString('base64');
  t.is((await headerFor(env, 'https://git.example.com:8443/other/lib.git')).trim(), `Authorization: Basic ${basic}`);
  t.is(await headerFor(env, 'https://git.example.com/team/app.git'), '', 'another port');
  t.is(await headerFor(env, 'https://evil.example.net:8443/team/app.git'), '', 'another host');
  t.is(await headerFor(env, 'http://git.example.com:8443/team/app.git'), '', 'another scheme');
  t.regex(env.GIT_CONFIG_PARAMETERS!, /'protocol\.file\.allow'='never'/);
});

test('an ssh key is offered to the source host only (ssh -G with the config written)', async (t) => {
  const dir = await buildDir(t);
  const env = await credentialEnv({
    uri: 'ssh://git@git.example.com:2222/team/app.git',
    dir,
    credentials: { username: '', password: '', sshPrivateKey: 'KEY', knownHosts: 'git.example.com ssh-ed25519 AAAA' },
  });
  const config = /-F '([^']+)'/.exec(env.GIT_SSH_COMMAND!)?.[1];
  t.truthy(config);
  const key = path.join(path.dirname(dir), '.git-ssh-key');
  const identities = async (host: string) =>
    (await run('ssh', ['-G', '-F', config!, host]))
      .split('\n')
      .filter((l) => l.startsWith('identityfile '))
      .map((l) => l.slice('identityfile '.length));
  t.true((await identities('git.example.com')).includes(key));
  t.false((await identities('evil.example.net')).includes(key));
  const other = await run('ssh', ['-G', '-F', config!, 'evil.example.net']);
  t.regex(other, /^stricthostkeychecking true$/m);
  t.regex(other, /^batchmode yes$/m);
});

test('source.git.submodules: false is kept (false is a setting here), not set is left out', (t) => {
  const spec = (git: object) =>
    validateBuildConfigSpec({ source: { git }, strategy: { docker: {} }, output: { image: 'r.example/x:v1' } });
  t.false(spec({ uri: 'https://h/x', submodules: false }).source.git!.submodules);
  t.true(spec({ uri: 'https://h/x', submodules: true }).source.git!.submodules);
  t.false('submodules' in spec({ uri: 'https://h/x' }).source.git!);
  const { input } = buildConfigInputFromProto({
    metadata: { name: 'x', namespace: 'default', labels: {} },
    spec: {
      source: { git: { uri: 'https://h/x', ref: '', submodules: false, _submodules: 'submodules' } },
      strategy: { docker: {} },
      output: { image: 'r.example/x:v1' },
    },
  } as never);
  t.deepEqual(input.spec.source.git, { uri: 'https://h/x', submodules: false });
});
