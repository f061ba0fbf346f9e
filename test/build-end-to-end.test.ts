import { randomBytes } from 'node:crypto';
import test from 'ava';
import { allContainerIds, environmentDocker, pullAndRun } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { registryDigest } from './helpers/registry.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

test('a git repository with a Dockerfile builds, is pushed under its tag and digest, and runs', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const slipway = await startSlipway(t);
  const docker = environmentDocker();
  const word = `hello-from-slipway-${randomBytes(4).toString('hex')}`;
  const repo = await git.createRepo('app', {
    Dockerfile: `FROM ${env.baseImage}\nRUN echo ${word} > /greeting\nCMD ["cat", "/greeting"]\n`,
  });
  const repository = `test/e2e-${randomBytes(4).toString('hex')}`;
  const containersBefore = await allContainerIds(docker);

  await slipway.client.createBuildConfig(dockerBuildConfig('app', repo.uri, `${env.registry}/${repository}:v1`));
  const started = await slipway.client.startBuild({ namespace: 'default', configName: 'app' });
  t.is(started.metadata!.name, 'app-1');
  t.is(started.status!.phase, 'New');

  const phases: string[] = [];
  let final;
  for await (const b of slipway.client.watchBuild('default', 'app-1')) {
    if (phases.at(-1) !== b.status!.phase) phases.push(b.status!.phase);
    final = b;
  }
  t.is(final!.status!.phase, 'Complete', final!.status!.message);
  t.deepEqual(
    phases.filter((p) => p !== 'New'),
    ['Pending', 'Running', 'Complete'].slice(phases.includes('Pending') ? 0 : 1),
  );
  t.is(final!.status!.commit, repo.commit);
  t.is(final!.status!.node, 'node-0');
  t.is(final!.status!.exitCode, 0);
  const { image, digest } = final!.status!.output!;
  t.is(image, `${env.registry}/${repository}:v1`);
  t.regex(digest, /^sha256:[0-9a-f]{64}$/);

  // The registry holds that digest under the tag, and what it holds runs.
  t.is(await registryDigest(repository, 'v1'), digest);
  t.is((await pullAndRun(docker, `${env.registry}/${repository}@${digest}`)).trim(), word);

  // The build left no container behind (pullAndRun removed its own).
  t.deepEqual(
    [...(await allContainerIds(docker))].filter((id) => !containersBefore.has(id)),
    [],
  );
});
