import { randomBytes } from 'node:crypto';
import test from 'ava';
import { allContainerIds, environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { freePort } from './helpers/ports.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

test.serial(
  'a RUN step that exits 3 ends Failed with BuildStepFailed and exit code 3, leaving no container',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const slipway = await startSlipway(t);
    const docker = environmentDocker();
    const repo = await git.createRepo('failing', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo about to fail ${unique()} && exit 3\n`,
    });
    const before = await allContainerIds(docker);

    await slipway.client.createBuildConfig(
      dockerBuildConfig('failing', repo.uri, `${env.registry}/test/failing-${unique()}:v1`),
    );
    await slipway.client.startBuild({ namespace: 'default', configName: 'failing' });
    const final = await slipway.client.waitForBuild('default', 'failing-1');

    t.is(final.status!.phase, 'Failed');
    t.is(final.status!.reason, 'BuildStepFailed');
    t.is(final.status!.exitCode, 3);
    t.regex(
      final.status!.message,
      /^build step "\[2\/2\] RUN echo about to fail \w+ && exit 3" failed with exit code 3$/,
    );
    t.falsy(final.status!.output);
    t.deepEqual(
      [...(await allContainerIds(docker))].filter((id) => !before.has(id)),
      [],
    );
  },
);

test.serial(
  'a bad ref, an unreachable git server, a --mount type BuildKit does not know and an unreachable registry each fail with their own reason',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const slipway = await startSlipway(t, { concurrency: 3 });
    const repo = await git.createRepo('ok', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} > /x\n` });
    const closedPort = await freePort();
    const image = `${env.registry}/test/reasons-${unique()}:v1`;

    const cases = [
      {
        name: 'bad-ref',
        config: dockerBuildConfig('bad-ref', repo.uri, image, { ref: 'no-such-branch' }),
        reason: 'InvalidGitRef',
        says: /no-such-branch/,
      },
      {
        name: 'no-git',
        config: dockerBuildConfig('no-git', `git://127.0.0.1:${closedPort}/nothing`, image),
        reason: 'GitSourceUnreachable',
        says: /could not be reached/,
      },
      {
        name: 'bad-mount',
        config: {
          ...dockerBuildConfig('bad-mount', repo.uri, image),
          spec: {
            ...dockerBuildConfig('bad-mount', repo.uri, image).spec,
            source: { dockerfile: `FROM ${env.baseImage}\nRUN --mount=type=bogus,target=/x true\n` },
          },
        },
        reason: 'InvalidDockerfile',
        says: /^the Dockerfile cannot be built, line 2: unsupported mount type "bogus"$/,
      },
      {
        name: 'no-registry',
        config: dockerBuildConfig('no-registry', repo.uri, `127.0.0.1:${closedPort}/test/x:v1`),
        reason: 'PushImageFailed',
        says: new RegExp(`127.0.0.1:${closedPort}`),
      },
    ];
    for (const c of cases) {
      await slipway.client.createBuildConfig(c.config);
      await slipway.client.startBuild({ namespace: 'default', configName: c.name });
    }
    for (const c of cases) {
      const final = await slipway.client.waitForBuild('default', `${c.name}-1`);
      t.is(final.status!.phase, 'Failed', c.name);
      t.is(final.status!.reason, c.reason, `${c.name}: ${final.status!.message}`);
      t.regex(final.status!.message, c.says, c.name);
    }
  },
);
