import { randomBytes } from 'node:crypto';
import test from 'ava';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

test.serial(
  'a build step that allocates past the memory limit fails OutOfMemory; under the limit it completes',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { concurrency: 2 });
    // dd allocates its whole block: 200 MiB, well past 64 MiB.
    const repo = await git.createRepo('hungry', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} && dd if=/dev/zero of=/dev/null bs=200M count=1\n`,
    });
    for (const [name, memory] of [
      ['tight', '64Mi'],
      ['roomy', '512Mi'],
    ] as const) {
      const config = dockerBuildConfig(name, repo.uri, `${env.registry}/test/${name}-${unique()}:v1`, {
        noCache: true,
      });
      config.spec!.resources = { memory };
      await sw.client.createBuildConfig(config);
      await sw.client.startBuild({ namespace: 'default', configName: name });
    }
    const tight = await sw.client.waitForBuild('default', 'tight-1');
    t.is(tight.status!.phase, 'Failed');
    t.is(tight.status!.reason, 'OutOfMemory', tight.status!.message);
    t.is(tight.status!.exitCode, 137);
    t.regex(tight.status!.message, /memory limit of 64Mi/);
    const roomy = await sw.client.waitForBuild('default', 'roomy-1');
    t.is(roomy.status!.phase, 'Complete', roomy.status!.message);
  },
);
