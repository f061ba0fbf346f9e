import { randomBytes } from 'node:crypto';
import test from 'ava';
import { environmentDocker, pullAndRun } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

test.serial('an inline Dockerfile with no git source, its FROM replaced and env added', async (t) => {
  const env = testEnvironment();
  const sw = await startSlipway(t);
  const image = `${env.registry}/test/inline-${unique()}:v1`;
  const word = `inline-${unique()}`;
  await sw.client.createBuildConfig({
    metadata: { name: 'inline' },
    spec: {
      source: { dockerfile: 'FROM placeholder/replaced-by-from\nCMD ["sh", "-c", "echo $GREETING"]\n' },
      strategy: { docker: { from: env.baseImage, env: [{ name: 'GREETING', value: word }] } },
      output: { image },
    },
  });
  await sw.client.startBuild({ namespace: 'default', configName: 'inline' });
  const final = await sw.client.waitForBuild('default', 'inline-1');
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(final.status!.commit, '');
  t.is(
    (await pullAndRun(environmentDocker(), `${image.replace(/:v1$/, '')}@${final.status!.output!.digest}`)).trim(),
    word,
  );
});

test.serial("the git source's own Dockerfile, its FROM replaced and env added", async (t) => {
  // proto3 sends an unset inline Dockerfile as "": that must read the source's Dockerfile,
  // not an empty one (which failed every such build with "no FROM instruction").
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const repo = await git.createRepo('edited', {
    Dockerfile: 'FROM placeholder/replaced-by-from\nCMD ["sh", "-c", "echo $GREETING"]\n',
  });
  const image = `${env.registry}/test/edited-${unique()}:v1`;
  const word = `edited-${unique()}`;
  const config = dockerBuildConfig('edited', repo.uri, image);
  config.spec!.strategy!.docker = { from: env.baseImage, env: [{ name: 'GREETING', value: word }] };
  await sw.client.createBuildConfig(config);
  await sw.client.startBuild({ namespace: 'default', configName: 'edited' });
  const final = await sw.client.waitForBuild('default', 'edited-1');
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(
    (await pullAndRun(environmentDocker(), `${image.replace(/:v1$/, '')}@${final.status!.output!.digest}`)).trim(),
    word,
  );
});

test.serial('target picks the stage to build, and forcePull pulls the base image again', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const repo = await git.createRepo('stages', {
    Dockerfile: `FROM ${env.baseImage} AS tester\nCMD ["echo", "from the tester stage"]\nFROM ${env.baseImage}\nCMD ["echo", "from the last stage"]\n`,
  });
  const image = `${env.registry}/test/stages-${unique()}:v1`;
  const config = dockerBuildConfig('stages', repo.uri, image);
  config.spec!.strategy!.docker = { target: 'tester', forcePull: true };
  await sw.client.createBuildConfig(config);
  await sw.client.startBuild({ namespace: 'default', configName: 'stages' });
  const final = await sw.client.waitForBuild('default', 'stages-1');
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(
    (await pullAndRun(environmentDocker(), `${image.replace(/:v1$/, '')}@${final.status!.output!.digest}`)).trim(),
    'from the tester stage',
  );
  const log: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'stages-1' })) log.push(l.text);
  t.true(
    log.some((l) => /Pulling from library\/busybox/.test(l)),
    log.join('\n'),
  );
});

test.serial('a target stage the Dockerfile does not have fails the build, naming it', async (t) => {
  const env = testEnvironment();
  const sw = await startSlipway(t);
  await sw.client.createBuildConfig({
    metadata: { name: 'nostage' },
    spec: {
      source: { dockerfile: `FROM ${env.baseImage}\n` },
      strategy: { docker: { target: 'missing', env: [{ name: 'A', value: 'b' }] } },
      output: { image: `${env.registry}/test/nostage:v1` },
    },
  });
  await sw.client.startBuild({ namespace: 'default', configName: 'nostage' });
  const final = await sw.client.waitForBuild('default', 'nostage-1');
  t.is(final.status!.phase, 'Failed');
  t.is(final.status!.reason, 'InvalidContext');
  t.regex(final.status!.message, /no stage named "missing"/);
});
