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
  t.regex(builds.out, /^NAME\s+PHASE\s+REASON\s+CONFIG\s+NODE\s+DURATION\s+LONGEST STAGE\s+AGE\n/);
  t.regex(
    builds.out,
    /cli-app-1\s+Complete\s+-\s+cli-app\s+node-0\s+\d+(\.\d)?s\s+(FetchInputs|PullImages|Build|PushImage) \d+\.\ds\s+/,
  );
  const described = await slipway(server, 'describe', 'build', 'cli-app-1');
  t.regex(described.out, new RegExp(`Image:\\s+${env.registry}/${repository}:v1@${digest}`));
  t.regex(described.out, new RegExp(`Commit:\\s+${repo.commit}`));
  // Why it ran, where the time went, and what happened, as sections.
  t.regex(described.out, /\nCause:\n  Manual\s+started by a client\n/);
  t.regex(
    described.out,
    /\nStages:\n  STAGE\s+STARTED\s+DURATION\n  FetchInputs\s+\S+Z\s+\d+\.\ds\n  PullImages\s.*\n  Build\s.*\n  PushImage\s.*\n/,
  );
  t.regex(
    described.out,
    /\nEvents:\n  TYPE\s+REASON\s+AGE\s+MESSAGE\n  Normal\s+Queued\s+\S+\s+attempt 1 queued.*\n  Normal\s+Placed\s.*placed on agent \S+ \(node node-0\).*\n  Normal\s+Scheduled\s.*node-0\n  Normal\s+Started\s.*\n  Normal\s+Pushed\s+\S+\s+pushed \S+@sha256:[0-9a-f]{64}\n  Normal\s+Complete\s.*\n/,
  );
  t.notRegex(described.out, /Log snippet/, 'a complete build has no snippet');

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
  // Described, the failed build shows where it stopped, the Warning and the end of its log.
  const why = await slipway(server, 'describe', 'build', 'cli-app-2');
  t.regex(why.out, /\nStages:\n  STAGE\s+STARTED\s+DURATION\n  FetchInputs\s+\S+\s+\d+\.\ds\nEvents:/);
  t.regex(why.out, /  Warning\s+Failed\s+\S+\s+InvalidGitRef: /);
  t.regex(why.out, /\nLog snippet:\n  Fetching \S+ at missing-branch\n(  .*\n)+$/);
  const listed = await slipway(server, 'get', 'builds', 'cli-app-2');
  t.regex(listed.out, /cli-app-2\s+Failed\s+InvalidGitRef\s+cli-app\s+node-0\s+\S+\s+FetchInputs \d+\.\ds/);
});

test.serial('apply refuses a document with an unknown field and sends nothing', async (t) => {
  const sw = await startSlipway(t, { agents: 0 });
  const server = sw.coordinators[0]!.address;
  const file = path.join(await tempDir(t), 'bad.yaml');
  await writeFile(
    file,
    'metadata: { name: app }\nspec:\n  source: { git: { uri: "git://h/r" } }\n  strategy: { docker: {} }\n  output: { image: "r.test/a:v1", tag: x }\n',
  );
  const res = await slipway(server, 'apply', '-f', file);
  t.is(res.code, 1);
  t.regex(res.out, /spec\.output\.tag: unknown field/);
  t.deepEqual(await sw.client.listBuildConfigs('default'), []);
});
