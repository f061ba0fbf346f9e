import { randomBytes } from 'node:crypto';
import test from 'ava';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startRegistryProxy } from './helpers/registry-proxy.js';
import { dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';
import type { Teardowns } from './helpers/teardowns.js';

// Two builds of one config pushing the same new layer to one repository at once: the
// open-source registry answers one of them 500 ("invalid checksum digest format"), and the
// daemon gives that push up (test/placement.test.ts failed so in CI). A push that fails with a
// registry's 5xx is now tried again, three pushes in all. In front of the environment's real
// registry, a pass-through answers 500 to the first N manifest PUTs (the daemon does not retry
// those itself), which makes the failure at will.

async function buildThrough(t: Teardowns, sw: Slipway, registry: string, name: string) {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const repo = await git.createRepo(name, {
    Dockerfile: `FROM ${env.baseImage}\nRUN echo ${randomBytes(8).toString('hex')} > /unique\n`,
  });
  const image = `${registry}/test/${name}-${randomBytes(4).toString('hex')}:v1`;
  await sw.client.createBuildConfig(dockerBuildConfig(name, repo.uri, image));
  const build = (await sw.client.startBuild({ namespace: 'default', configName: name })).metadata!.name;
  const status = (await sw.client.waitForBuild('default', build, AbortSignal.timeout(120_000))).status!;
  const log: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: build })) log.push(l.text);
  return { status, log };
}

test.serial('a push the registry fails with a 500 is tried again, and the build completes', async (t) => {
  const sw = await startSlipway(t);
  const flaky = await startRegistryProxy(t, testEnvironment().registry, { failManifestPuts: 1 });
  const { status, log } = await buildThrough(t, sw, flaky.address, 'flaky-once');
  t.is(status.phase, 'Complete', `${status.reason}: ${status.message}`);
  t.is(flaky.injected(), 1, 'the registry failed one manifest PUT');
  t.is(log.filter((l) => l.includes('trying again')).length, 1, log.slice(-15).join('\n'));
  t.regex(status.output?.digest ?? '', /^sha256:/);
});

test.serial(
  'a registry that keeps failing with a 500 fails the build after three pushes, PushImageFailed',
  async (t) => {
    const sw = await startSlipway(t);
    const flaky = await startRegistryProxy(t, testEnvironment().registry, { failManifestPuts: 1000 });
    const { status, log } = await buildThrough(t, sw, flaky.address, 'flaky-always');
    t.is(status.phase, 'Failed');
    t.is(status.reason, 'PushImageFailed');
    t.regex(status.message, /500/);
    t.is(flaky.injected(), 3, 'three pushes');
    t.is(log.filter((l) => l.includes('trying again')).length, 2, log.slice(-15).join('\n'));
  },
);
