import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { run, tempDir } from './helpers/processes.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { registryDigest } from './helpers/registry.js';
import { startSlipway } from './helpers/slipway.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/slipway.js');

/** Runs the real CLI as a process; resolves with its exit code and output. */
function slipway(server: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return run(process.execPath, [BIN, '--server', server, ...args]).then(
    (out) => ({ code: 0, out }),
    (err: Error) => ({ code: Number(/exited (\d+)/.exec(err.message)?.[1] ?? -1), out: err.message }),
  );
}

test.serial('apply, start --follow, get and describe, as a person would use them', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const server = sw.coordinators[0]!.address;
  const dir = await tempDir(t);
  const repo = await git.createRepo('cli-app', {
    'app/Dockerfile': `FROM ${env.baseImage}\nCOPY msg /msg\nCMD ["cat", "/msg"]\n`,
    'app/msg': 'from the cli\n',
  });
  const repository = `test/cli-${randomBytes(4).toString('hex')}`;
  const file = path.join(dir, 'config.yaml');
  const yaml = (image: string) => `apiVersion: build.slipway.dev/v1
kind: BuildConfig
metadata:
  name: cli-app
spec:
  source:
    git: { uri: "${repo.uri}", ref: main }
    contextDir: app
  strategy:
    docker: {}
  output:
    image: ${image}
  resources: { cpu: "1", memory: 128Mi }
`;
  await writeFile(file, yaml(`${env.registry}/${repository}:v1`));

  t.like(await slipway(server, 'apply', '-f', file), { code: 0, out: 'buildconfig/cli-app created\n' });
  t.like(await slipway(server, 'apply', '-f', file), { code: 0, out: 'buildconfig/cli-app configured\n' });

  const started = await slipway(server, 'start', 'cli-app', '--follow');
  t.is(started.code, 0, started.out);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(started.out)?.[1];
  t.truthy(digest, started.out);
  t.regex(started.out, new RegExp(`image:  ${env.registry}/${repository}:v1`));
  t.regex(started.out, /build\/cli-app-1 Running on node-0/);
  t.is(await registryDigest(repository, 'v1'), digest);

  const builds = await slipway(server, 'get', 'builds');
  t.regex(builds.out, /^NAME\s+PHASE\s+REASON\s+CONFIG\s+NODE\s+AGE\n/);
  t.regex(builds.out, /cli-app-1\s+Complete\s+-\s+cli-app\s+node-0/);
  const described = await slipway(server, 'describe', 'build', 'cli-app-1');
  t.regex(described.out, new RegExp(`Image:\\s+${env.registry}/${repository}:v1@${digest}`));
  t.regex(described.out, new RegExp(`Commit:\\s+${repo.commit}`));

  // Its log, as a person reads it, ends with the outcome; a finished build cannot be cancelled.
  const log = await slipway(server, 'logs', 'cli-app-1');
  t.is(log.code, 0);
  t.regex(log.out, /Build complete: /);
  const cancel = await slipway(server, 'cancel', 'cli-app-1');
  t.is(cancel.code, 1);
  t.regex(cancel.out, /already Complete/);

  // A followed build that fails exits non-zero and says why.
  const failed = await slipway(server, 'start', 'cli-app', '--follow', '--ref', 'missing-branch');
  t.is(failed.code, 1);
  t.regex(failed.out, /InvalidGitRef/);
});

test.serial('apply refuses a document with an unknown field and sends nothing', async (t) => {
  const sw = await startSlipway(t, { agents: 0 });
  const server = sw.coordinators[0]!.address;
  const file = path.join(await tempDir(t), 'bad.yaml');
  await writeFile(file, 'metadata: { name: app }\nspec:\n  source: { git: { uri: "git://h/r" } }\n  strategy: { docker: {} }\n  output: { image: "r.test/a:v1", tag: x }\n');
  const res = await slipway(server, 'apply', '-f', file);
  t.is(res.code, 1);
  t.regex(res.out, /spec\.output\.tag: unknown field/);
  t.deepEqual(await sw.client.listBuildConfigs('default'), []);
});
