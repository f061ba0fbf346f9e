import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { SlipwayClient } from '../cli/client.js';
import type { BuildConfig } from '../proto/generated/slipway/v1/BuildConfig.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { tempDir } from './helpers/processes.js';
import { registryDigest, serveRegistry } from './helpers/registry.js';
import { startSlipway } from './helpers/slipway.js';
import { startAuthRegistry } from './helpers/auth-registry.js';
import { copyImage, startUpstreamRegistry } from './helpers/upstream-registry.js';
import { ImageResolveError, resolveManifestDigest } from '../common/registry-client.js';
import type { Teardowns } from './helpers/teardowns.js';
import { eventually } from './helpers/eventually.js';

const unique = () => randomBytes(4).toString('hex');

/** Waits up to a minute until `check` holds (see `eventually`). */
const until = <T>(what: string, check: () => Promise<T | undefined | false>) =>
  eventually(what, check, { timeoutMs: 60_000, intervalMs: 200 });

/**
 * Pushes a new image to `registry/repository:tag`: the environment's base image with one more
 * (empty) layer and a label of its own, so each call makes a digest never seen before.
 * Returns the digest the registry holds for the tag after.
 */
async function pushNewDigest(
  registry: string,
  repository: string,
  tag: string,
  auth?: { user: string; password: string },
): Promise<string> {
  const docker = environmentDocker();
  const container = await docker.createContainer({ Image: testEnvironment().baseImage, Cmd: ['true'], Labels: {} });
  const ref = `${registry}/${repository}`;
  try {
    await container.commit({ repo: ref, tag, changes: [`LABEL slipway.test.revision=${unique()}`] });
  } finally {
    await container.remove({ force: true });
  }
  const authconfig = auth && { username: auth.user, password: auth.password, serveraddress: registry };
  const push = await docker.getImage(`${ref}:${tag}`).push({ tag, ...(authconfig ? { authconfig } : {}) });
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(push, (err, out) => (err ? reject(err) : resolve(out))),
  );
  await docker
    .getImage(`${ref}:${tag}`)
    .remove()
    .catch(() => {});
  if (auth) {
    const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
        authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`,
      },
    });
    return res.headers.get('docker-content-digest')!;
  }
  return (await registryDigest(repository, tag, registry))!;
}

/** The `slipway.test.revision` label of an image in `registry` (derived images inherit their base's labels). */
async function revisionLabel(registry: string, repository: string, reference: string): Promise<string | undefined> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  if (!res.ok) throw new Error(`manifest ${repository}:${reference} in ${registry}: ${res.status}`);
  const { config } = (await res.json()) as { config: { digest: string } };
  const blob = (await (await fetch(`http://${registry}/v2/${repository}/blobs/${config.digest}`)).json()) as {
    config: { Labels?: Record<string, string> };
  };
  return blob.config.Labels?.['slipway.test.revision'];
}

async function buildsOf(client: SlipwayClient, config: string): Promise<Build__Output[]> {
  return client.listBuilds({ namespace: 'default', configName: config });
}

async function tokenFile(t: Teardowns): Promise<{ file: string; token: string }> {
  const token = randomBytes(24).toString('hex');
  const file = path.join(await tempDir(t), 'registry-notify-token');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { file, token };
}

/** A config whose inline Dockerfile builds on `base`, as strategy.docker.from or as its own FROM. */
function configOn(name: string, base: string, how: 'strategy-from' | 'dockerfile-from'): BuildConfig {
  const env = testEnvironment();
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      source: { dockerfile: `FROM ${how === 'strategy-from' ? env.baseImage : base}\nRUN echo ${name} > /built\n` },
      strategy: { docker: how === 'strategy-from' ? { from: base } : {} },
      output: { image: `${env.registry}/test/${name}:latest` },
      triggers: [{ type: 'ImageChange', ...(how === 'dockerfile-from' ? { imageChange: { from: base } } : {}) }],
    },
  };
}

async function recordedDigest(client: SlipwayClient, config: string): Promise<string | undefined> {
  const c = await client.getBuildConfig('default', config);
  return c.status?.imageTriggers?.[0]?.lastDigest || undefined;
}

test.serial(
  'a new digest of a base image starts one build of each config that uses it, from notifications and polls on two coordinators',
  async (t) => {
    const { file, token } = await tokenFile(t);
    const sw = await startSlipway(t, {
      coordinators: 2,
      coordinator: { httpListen: '127.0.0.1:0', registryNotifyTokenFile: file, imagePollIntervalMs: 1000 },
    });
    // Every event goes to both coordinators at once: duplicates by design, on top of two pollers.
    const registry = await serveRegistry(t, await tempDir(t, 'slipway-registry-'), '', {
      notify: sw.coordinators.map((c) => ({ url: `${c.http!.url}/webhooks/registry`, token })),
    });
    const u = unique();
    const repository = `base/img-${u}`;
    const watched = `${registry.address}/${repository}:v1`;
    const first = await pushNewDigest(registry.address, repository, 'v1');
    const otherFirst = await pushNewDigest(registry.address, repository, 'other');

    const names = { a: `uses-from-${u}`, b: `uses-dockerfile-${u}`, c: `other-tag-${u}` };
    await sw.client.createBuildConfig(configOn(names.a, watched, 'strategy-from'));
    await sw.client.createBuildConfig(configOn(names.b, watched, 'dockerfile-from'));
    await sw.client.createBuildConfig(configOn(names.c, `${registry.address}/${repository}:other`, 'strategy-from'));

    // The pollers record what the tags are as a baseline, and build nothing for it.
    await until(
      'baselines',
      async () =>
        (await recordedDigest(sw.client, names.a)) === first &&
        (await recordedDigest(sw.client, names.b)) === first &&
        (await recordedDigest(sw.client, names.c)) === otherFirst,
    );
    for (const n of Object.values(names))
      t.deepEqual(await buildsOf(sw.client, n), [], `${n}: a baseline starts no build`);

    const second = await pushNewDigest(registry.address, repository, 'v1');
    t.not(second, first);
    const finals: Record<string, Build__Output> = {};
    for (const n of [names.a, names.b]) {
      await until(`a build of ${n}`, async () => (await buildsOf(sw.client, n)).length > 0);
      finals[n] = await sw.client.waitForBuild('default', `${n}-1`);
      t.is(finals[n]!.status!.phase, 'Complete', `${n}: ${finals[n]!.status!.message}`);
      const cause = finals[n]!.spec!.triggeredBy![0]!;
      t.is(cause.type, 'ImageChange');
      t.deepEqual(
        { image: cause.imageChange!.image, digest: cause.imageChange!.digest },
        { image: watched, digest: second },
      );
    }
    // The strategy's image is pinned to the new digest; a watched Dockerfile FROM is pulled afresh.
    t.is(finals[names.a]!.spec!.config!.strategy!.docker!.from, `${registry.address}/${repository}@${second}`);
    t.true(finals[names.b]!.spec!.config!.strategy!.docker!.forcePull);
    // Both built on the new base: they carry its label, which the old base has another value of.
    const baseRevision = await revisionLabel(registry.address, repository, second);
    t.truthy(baseRevision);
    t.not(await revisionLabel(registry.address, repository, first), baseRevision);
    for (const n of [names.a, names.b]) {
      t.is(
        await revisionLabel(testEnvironment().registry, `test/${n}`, finals[n]!.status!.output!.digest),
        baseRevision,
        `${n} is built on ${second}`,
      );
    }

    // Duplicate deliveries, two pollers each seeing the new digest every second: still one build each
    // (time passing is what is tested: four seconds of polls and deliveries start nothing more).
    await new Promise((r) => setTimeout(r, 4000));
    t.deepEqual(
      (await buildsOf(sw.client, names.a)).map((b) => b.metadata!.name),
      [`${names.a}-1`],
    );
    t.deepEqual(
      (await buildsOf(sw.client, names.b)).map((b) => b.metadata!.name),
      [`${names.b}-1`],
    );
    t.deepEqual(await buildsOf(sw.client, names.c), [], 'a config watching another tag of the repository is not built');
    t.is(await recordedDigest(sw.client, names.a), second);
    t.is(await recordedDigest(sw.client, names.c), otherFirst);
  },
);

test.serial('polling alone (a registry that cannot notify) starts one build per new digest', async (t) => {
  const sw = await startSlipway(t, { coordinators: 2, coordinator: { imagePollIntervalMs: 1000 } });
  const registry = await serveRegistry(t, await tempDir(t, 'slipway-registry-'));
  const u = unique();
  const repository = `base/polled-${u}`;
  const watched = `${registry.address}/${repository}:latest`;
  const first = await pushNewDigest(registry.address, repository, 'latest');
  const name = `polled-${u}`;
  await sw.client.createBuildConfig(configOn(name, watched, 'strategy-from'));
  await until('the baseline', async () => (await recordedDigest(sw.client, name)) === first);

  const digests = [await pushNewDigest(registry.address, repository, 'latest')];
  const b1 = await until('the first build', async () => (await buildsOf(sw.client, name))[0]);
  t.is((await sw.client.waitForBuild('default', b1.metadata!.name)).status!.phase, 'Complete');
  digests.push(await pushNewDigest(registry.address, repository, 'latest'));
  await until('the second build', async () => (await buildsOf(sw.client, name)).length >= 2);
  await sw.client.waitForBuild('default', `${name}-2`);
  // Time passing is what is tested here: three seconds of polls start no third build.
  await new Promise((r) => setTimeout(r, 3000));

  const builds = await buildsOf(sw.client, name);
  t.deepEqual(
    builds.map((b) => [b.metadata!.name, b.spec!.triggeredBy![0]!.imageChange!.digest, b.status!.phase]),
    digests.map((d, i) => [`${name}-${i + 1}`, d, 'Complete']),
  );
  t.is(builds[1]!.spec!.config!.strategy!.docker!.from, `${registry.address}/${repository}@${digests[1]}`);
});

test.serial('polling a registry that requires auth uses the pull secret for that registry, and no other', async (t) => {
  const password = `pw-${unique()}`;
  const auth = { user: 'puller', password };
  const registry = await startAuthRegistry(t, auth.user, password);
  const sw = await startSlipway(t, { coordinator: { imagePollIntervalMs: 1000 } });
  await sw.client.createSecret({
    metadata: { name: 'pull' },
    type: 'docker-registry',
    registry: registry.address,
    username: auth.user,
    password,
  });
  await sw.client.createSecret({
    metadata: { name: 'elsewhere' },
    type: 'docker-registry',
    registry: 'elsewhere.example',
    username: auth.user,
    password,
  });
  const u = unique();
  const repository = `base/private-${u}`;
  const watched = `${registry.address}/${repository}:v1`;
  const first = await pushNewDigest(registry.address, repository, 'v1', auth);
  const withSecret = (name: string, secret?: string) => {
    const c = configOn(name, watched, 'strategy-from');
    if (secret) c.spec!.strategy!.docker!.pullSecret = { name: secret };
    return c;
  };
  const names = { right: `right-secret-${u}`, none: `no-secret-${u}`, wrong: `wrong-registry-${u}` };
  await sw.client.createBuildConfig(withSecret(names.right, 'pull'));
  await sw.client.createBuildConfig(withSecret(names.none));
  await sw.client.createBuildConfig(withSecret(names.wrong, 'elsewhere'));
  await until('the baseline', async () => (await recordedDigest(sw.client, names.right)) === first);
  // Time passing is what is tested here: after two more polls, still no digest without the right secret.
  await new Promise((r) => setTimeout(r, 2500));
  t.is(await recordedDigest(sw.client, names.none), undefined, 'refused without credentials');
  t.is(await recordedDigest(sw.client, names.wrong), undefined, "another registry's secret is not sent");

  const second = await pushNewDigest(registry.address, repository, 'v1', auth);
  await until('a build', async () => (await buildsOf(sw.client, names.right)).length > 0);
  const final = await sw.client.waitForBuild('default', `${names.right}-1`);
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(final.spec!.triggeredBy![0]!.imageChange!.digest, second);
});

test('digests are resolved through a token server (bearer challenge), with credentials or refused without', async (t) => {
  const creds = { user: 'hub-user', password: `pw-${unique()}` };
  const upstream = await startUpstreamRegistry(t, { auth: creds });
  const { manifestDigest } = await copyImage(
    testEnvironment().registry,
    upstream.address,
    'library/busybox',
    'latest',
    creds,
  );
  const image = { registry: upstream.address, repository: 'library/busybox', tag: 'latest' };
  t.is(
    await resolveManifestDigest(image, { credentials: { username: creds.user, password: creds.password } }),
    manifestDigest,
  );
  t.is(
    await resolveManifestDigest(
      { ...image, tag: 'missing' },
      { credentials: { username: creds.user, password: creds.password } },
    ),
    undefined,
  );
  const refused = await t.throwsAsync(resolveManifestDigest(image), { instanceOf: ImageResolveError });
  t.regex(refused.message, /without credentials/);
  const wrong = await t.throwsAsync(
    resolveManifestDigest(image, { credentials: { username: creds.user, password: 'nope' } }),
    { instanceOf: ImageResolveError },
  );
  t.false(wrong.message.includes('nope'));
});

test.serial(
  'registry notifications alone start builds; without the right token they are refused with 401 and start nothing',
  async (t) => {
    const { file, token } = await tokenFile(t);
    // No poller: only notifications can start anything.
    const sw = await startSlipway(t, {
      coordinator: { httpListen: '127.0.0.1:0', registryNotifyTokenFile: file, imagePollIntervalMs: 0 },
    });
    const url = `${sw.coordinators[0]!.http!.url}/webhooks/registry`;
    const registry = await serveRegistry(t, await tempDir(t, 'slipway-registry-'), '', { notify: [{ url, token }] });
    const u = unique();
    const repository = `base/guarded-${u}`;
    const first = await pushNewDigest(registry.address, repository, 'v1');
    const name = `guarded-${u}`;
    await sw.client.createBuildConfig(configOn(name, `${registry.address}/${repository}:v1`, 'strategy-from'));
    const before = await sw.client.getBuildConfig('default', name);

    // A delivery of the push of `first`, which nothing has recorded for this config yet.
    const envelope = (digest: string) =>
      JSON.stringify({
        events: [
          {
            action: 'push',
            target: {
              mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
              repository,
              tag: 'v1',
              digest,
            },
            request: { host: registry.address, method: 'PUT' },
          },
        ],
      });
    const post = (digest: string, authorization?: string) =>
      fetch(url, {
        method: 'POST',
        body: envelope(digest),
        headers: {
          'content-type': 'application/vnd.docker.distribution.events.v1+json',
          ...(authorization ? { authorization } : {}),
        },
      });
    for (const authorization of [
      undefined,
      'Bearer wrong-token-0123456789abcdef',
      `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
      `Bearer ${token}x`,
    ]) {
      const res = await post(first, authorization);
      t.is(res.status, 401, `${authorization?.split(' ')[0] ?? 'no'} credentials`);
      t.false((await res.text()).includes(token));
    }
    // Time passing is what is tested here: a second on, still no build and no write.
    await new Promise((r) => setTimeout(r, 1000));
    t.deepEqual(await buildsOf(sw.client, name), []);
    t.deepEqual(
      (await sw.client.getBuildConfig('default', name)).metadata!.resourceVersion,
      before.metadata!.resourceVersion,
      'the config was not written',
    );

    // The same delivery with the token starts the build, once, however often it comes.
    for (let i = 0; i < 3; i++) {
      const res = await post(first, `Bearer ${token}`);
      t.is(res.status, 200);
      t.deepEqual(((await res.json()) as { started: string[] }).started, i === 0 ? [`default/${name}-1`] : []);
    }
    t.is((await sw.client.waitForBuild('default', `${name}-1`)).status!.phase, 'Complete');

    // A push: the registry's own notification starts the next build.
    const pushing = Date.now();
    const second = await pushNewDigest(registry.address, repository, 'v1');
    await until('the build of the push', async () => (await buildsOf(sw.client, name)).length >= 2);
    const b2 = await sw.client.waitForBuild('default', `${name}-2`);
    t.is(b2.status!.phase, 'Complete', b2.status!.message);
    t.is(b2.spec!.triggeredBy![0]!.imageChange!.digest, second);
    t.regex(b2.spec!.triggeredBy![0]!.message, /registry notification/);
    t.log(`commit + push + notification + build created: ${Date.parse(b2.metadata!.creationTimestamp) - pushing} ms`);
    t.is((await buildsOf(sw.client, name)).length, 2);
  },
);

test.serial(
  'ConfigChange: a build when the config is created and one per spec change; none for a label change',
  async (t) => {
    const sw = await startSlipway(t, { coordinators: 2, coordinator: { imagePollIntervalMs: 0 } });
    const env = testEnvironment();
    const name = `config-change-${unique()}`;
    const config = (step: string, labels: Record<string, string> = {}): BuildConfig => ({
      metadata: { name, namespace: 'default', labels },
      spec: {
        source: { dockerfile: `FROM ${env.baseImage}\nRUN echo ${step} > /step\n` },
        strategy: { docker: {} },
        output: { image: `${env.registry}/test/${name}:latest` },
        triggers: [{ type: 'ConfigChange' }],
      },
    });
    await sw.client.createBuildConfig(config('one'));
    const b1 = await until('the first build', async () => (await buildsOf(sw.client, name))[0]);
    t.is(b1.spec!.triggeredBy![0]!.type, 'ConfigChange');
    t.is(b1.spec!.triggeredBy![0]!.message, 'generation 1');
    t.is((await sw.client.waitForBuild('default', `${name}-1`)).status!.phase, 'Complete');

    await sw.client.updateBuildConfig(config('two'));
    await until('the second build', async () => (await buildsOf(sw.client, name)).length >= 2);
    const b2 = await sw.client.waitForBuild('default', `${name}-2`);
    t.is(b2.status!.phase, 'Complete');
    t.is(b2.spec!.triggeredBy![0]!.message, 'generation 2');
    t.is(Number(b2.spec!.configGeneration), 2);

    const relabelled = await sw.client.updateBuildConfig(config('two', { team: 'blue' }));
    t.is(Number(relabelled.metadata!.generation), 2, 'a label change is not a spec change');
    // Time passing is what is tested here: three seconds on, still no third build.
    await new Promise((r) => setTimeout(r, 3000));
    const builds = await buildsOf(sw.client, name);
    t.deepEqual(
      builds.map((b) => b.metadata!.name),
      [`${name}-1`, `${name}-2`],
    );
    t.is((await sw.client.getBuildConfig('default', name)).status!.lastTriggeredGeneration, 2);
  },
);
