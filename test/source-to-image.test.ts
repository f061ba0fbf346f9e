import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { environmentDocker, pullAndRun } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

const ASSEMBLE = `#!/bin/sh
set -e
echo "assembling: $(ls /tmp/src | tr '\\n' ' ')"
if [ -f /tmp/src/fail ]; then echo "assemble refuses this source"; exit 7; fi
mkdir -p /app
cp -r /tmp/src/. /app/
n=0
if [ -f /tmp/artifacts/cache/count ]; then n=$(cat /tmp/artifacts/cache/count); echo "found saved artifact: count $n"; fi
mkdir -p /app/cache
echo $((n + 1)) > /app/cache/count
`;
const RUN = `#!/bin/sh
cat /app/message
`;
const SAVE_ARTIFACTS = `#!/bin/sh
cd /app && tar -cf - cache
`;

async function logOf(sw: Slipway, name: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name })) lines.push(l.text);
  return lines;
}

test.serial(
  'Source-to-Image: assemble builds the app, run is its command, and an incremental build finds the saved artifact',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t);
    const id = unique();

    // The builder image, made by Slipway itself with the Dockerfile strategy.
    const builderRepo = await git.createRepo('builder', {
      Dockerfile: `FROM ${env.baseImage}\nCOPY s2i/ /usr/libexec/s2i/\nRUN chmod +x /usr/libexec/s2i/*\nLABEL io.openshift.s2i.scripts-url=image:///usr/libexec/s2i\n`,
      's2i/assemble': ASSEMBLE,
      's2i/run': RUN,
      's2i/save-artifacts': SAVE_ARTIFACTS,
    });
    const builder = `${env.registry}/test/s2i-builder-${id}:latest`;
    await sw.client.createBuildConfig(dockerBuildConfig('builder', builderRepo.uri, builder));
    await sw.client.startBuild({ namespace: 'default', configName: 'builder' });
    t.is((await sw.client.waitForBuild('default', 'builder-1')).status!.phase, 'Complete');

    const message = `hello from source-to-image ${id}`;
    const appRepo = await git.createRepo('app', { message: `${message}\n` });
    const image = `${env.registry}/test/s2i-app-${id}:latest`;
    await sw.client.createBuildConfig({
      metadata: { name: 'app' },
      spec: {
        source: { git: { uri: appRepo.uri, ref: 'main' } },
        strategy: { source: { builderImage: builder, incremental: true } },
        output: { image },
      },
    });

    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const first = await sw.client.waitForBuild('default', 'app-1');
    t.is(first.status!.phase, 'Complete', first.status!.message);
    t.is(
      (
        await pullAndRun(environmentDocker(), `${image.replace(/:latest$/, '')}@${first.status!.output!.digest}`)
      ).trim(),
      message,
    );
    const log1 = await logOf(sw, 'app-1');
    t.true(log1.includes('assembling: message '), log1.join('\n'));
    t.false(log1.some((l) => l.startsWith('found saved artifact')));
    // Pulling the builder image is a stage of its own, before assemble runs.
    t.deepEqual(
      first.status!.stages.map((s) => s.name),
      ['FetchInputs', 'PullImages', 'Build', 'PushImage'],
    );

    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const second = await sw.client.waitForBuild('default', 'app-2');
    t.is(second.status!.phase, 'Complete', second.status!.message);
    const log2 = await logOf(sw, 'app-2');
    t.true(log2.includes('found saved artifact: count 1'), log2.join('\n'));
    t.is(
      (
        await pullAndRun(environmentDocker(), `${image.replace(/:latest$/, '')}@${second.status!.output!.digest}`)
      ).trim(),
      message,
    );

    // No container of the S2I builds is left on the daemon.
    for (const name of ['app-1', 'app-2']) {
      t.deepEqual(
        await environmentDocker().listContainers({ all: true, filters: { label: [`slipway.dev/build=${name}`] } }),
        [],
        name,
      );
    }

    // An assemble that fails: Failed / AssembleFailed with its exit code.
    const failing = await git.createRepo('failing-app', { message: 'x\n', fail: 'yes\n' });
    await sw.client.createBuildConfig({
      metadata: { name: 'failing-app' },
      spec: {
        source: { git: { uri: failing.uri } },
        strategy: { source: { builderImage: builder } },
        output: { image: `${env.registry}/test/s2i-failing-${id}:latest` },
      },
    });
    await sw.client.startBuild({ namespace: 'default', configName: 'failing-app' });
    const failed = await sw.client.waitForBuild('default', 'failing-app-1');
    t.is(failed.status!.phase, 'Failed');
    t.is(failed.status!.reason, 'AssembleFailed');
    t.is(failed.status!.exitCode, 7);
    t.true((await logOf(sw, 'failing-app-1')).includes('assemble refuses this source'));
    t.deepEqual(
      failed.status!.stages.map((s) => s.name),
      ['FetchInputs', 'PullImages', 'Build'],
    );
    t.true(failed.status!.logSnippet.split('\n').includes('assemble refuses this source'), failed.status!.logSnippet);
  },
);

test.serial('Source-to-Image with scripts from an http URL: a builder image without scripts of its own', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const id = unique();
  const scripts: Record<string, string> = {
    '/s2i/assemble': ASSEMBLE,
    '/s2i/run': RUN,
    '/s2i/save-artifacts': SAVE_ARTIFACTS,
  };
  const server = http.createServer((req, res) => {
    const body = scripts[req.url ?? ''];
    res.writeHead(body ? 200 : 404).end(body ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/s2i`;

  const message = `scripts from a URL ${id}`;
  const appRepo = await git.createRepo('url-app', { message: `${message}\n` });
  const image = `${env.registry}/test/s2i-url-${id}:latest`;
  await sw.client.createBuildConfig({
    metadata: { name: 'url-app' },
    spec: {
      source: { git: { uri: appRepo.uri } },
      strategy: {
        source: {
          builderImage: env.baseImage,
          scriptsUrl: url,
          incremental: true,
          env: [{ name: 'APP_MODE', value: 'test' }],
        },
      },
      output: { image },
    },
  });
  let pulled = '';
  for (const n of [1, 2]) {
    await sw.client.startBuild({ namespace: 'default', configName: 'url-app' });
    const b = await sw.client.waitForBuild('default', `url-app-${n}`);
    t.is(b.status!.phase, 'Complete', b.status!.message);
    pulled = `${image.replace(/:latest$/, '')}@${b.status!.output!.digest}`;
    t.is((await pullAndRun(environmentDocker(), pulled)).trim(), message);
  }
  t.true((await logOf(sw, 'url-app-2')).includes('found saved artifact: count 1'));
  // The pushed image, as pulled from the registry (the build's daemon may not be the node's).
  const config = await environmentDocker().getImage(pulled).inspect();
  t.deepEqual(config.Config.Cmd, ['/tmp/scripts/run']);
  t.true(config.Config.Env.includes('APP_MODE=test'));
});
