import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { InvalidInputError } from '../common/errors.js';
import { silentLogger } from '../common/log.js';
import { resolveNodeCacheConfig, type NodeCacheConfig } from '../node-cache/config.js';
import { planEviction, type CachedBlob } from '../node-cache/eviction.js';
import { NodeCache } from '../node-cache/node-cache.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { metricValue } from './helpers/metrics.js';
import { freePort, waitForPort } from './helpers/ports.js';
import { spawnForTest, tempDir } from './helpers/processes.js';
import { registryDigest } from './helpers/registry.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { copyImage, pullThrough, startUpstreamRegistry, type UpstreamRegistry } from './helpers/upstream-registry.js';
import { eventually } from './helpers/eventually.js';

const unique = () => randomBytes(4).toString('hex');
const HOUR = 3_600_000;

/** An upstream registry standing in for Docker Hub, holding the environment's busybox as library/busybox:latest. */
async function busyboxUpstream(t: ExecutionContext, auth?: { user: string; password: string }) {
  const upstream = await startUpstreamRegistry(t, { auth });
  const image = await copyImage(testEnvironment().registry, upstream.address, 'library/busybox', 'latest', auth);
  return { upstream, image };
}

/** A node cache in this process, in front of `upstream`; stopped when the test ends. */
async function startCache(
  t: ExecutionContext,
  upstream: UpstreamRegistry,
  settings: Partial<NodeCacheConfig> = {},
  now?: () => number,
): Promise<NodeCache> {
  const root = await tempDir(t, 'slipway-node-cache-');
  const cache = await NodeCache.start(
    resolveNodeCacheConfig({
      upstream: `http://${upstream.address}`,
      listen: `127.0.0.1:${await freePort()}`,
      root,
      metricsListen: '127.0.0.1:0',
      sweepIntervalMs: 0,
      registryBinary: 'docker-registry',
      ...settings,
    }),
    { log: silentLogger, now },
  );
  t.teardown(() => cache.stop());
  return cache;
}

const counts = async (cache: NodeCache) => ({
  hits: (await metricValue(cache.metricsAddress!, 'slipway_node_cache_blob_hits_total')) ?? NaN,
  misses: (await metricValue(cache.metricsAddress!, 'slipway_node_cache_blob_misses_total')) ?? NaN,
});

/** Processes whose command line mentions `text`. */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (entry !== String(process.pid) && cmd.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

test.serial(
  'ten dind builds FROM docker.io/library/busybox through the node cache: the upstream serves the base blobs during the first build only, the cache serves the other nine',
  async (t) => {
    t.timeout(300_000);
    const env = testEnvironment();
    const { upstream, image } = await busyboxUpstream(t);
    const cache = await startCache(t, upstream);
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const dindRoot = `/tmp/sw-nc-${unique()}`;
    t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
    await addAgent(t, sw, {
      concurrency: 1,
      settings: { executor: 'dind', dindMode: 'per-build', dindRoot, registryMirrors: [`http://${cache.address}`] },
    });
    // `FROM busybox` is docker.io/library/busybox:latest: the private daemon asks its mirror.
    const repo = await git.createRepo('on-busybox', {
      Dockerfile: `FROM busybox\nARG N\nRUN echo "build $N" > /n\nCMD ["cat", "/n"]\n`,
    });
    const output = `${env.registry}/test/on-busybox-${unique()}`;
    await sw.client.createBuildConfig(dockerBuildConfig('on-busybox', repo.uri, `${output}:latest`));

    const upstreamGets = () => image.blobs.map((b) => upstream.blobGets(b.digest));
    const before = upstreamGets();
    t.deepEqual(
      before,
      image.blobs.map(() => 0),
      'seeding the upstream GETs no blob from it',
    );
    let afterFirst: number[] = [];
    let countsAfterFirst = { hits: 0, misses: 0 };
    for (let n = 1; n <= 10; n++) {
      await sw.client.startBuild({ namespace: 'default', configName: 'on-busybox', image: `${output}:${n}` });
      const final = await sw.client.waitForBuild('default', `on-busybox-${n}`, AbortSignal.timeout(120_000));
      t.is(final.status!.phase, 'Complete', `build ${n}: ${final.status!.reason} ${final.status!.message}`);
      t.is(
        await registryDigest(`test/${path.basename(output)}`, String(n)),
        final.status!.output!.digest,
        `build ${n} pushed its image`,
      );
      if (n === 1) {
        // The proxy stores a missed blob with a fetch of its own, after the build got it: wait
        // until both blobs are stored, and for the upstream's log of that fetch.
        await eventually(
          'both base blobs stored',
          async () => (await Promise.all(image.blobs.map((b) => cache.storage.hasBlob(b.digest)))).every(Boolean),
          { timeoutMs: 10_000 },
        );
        await upstream.logCaughtUp();
        afterFirst = upstreamGets();
        countsAfterFirst = await counts(cache);
      }
    }
    const afterTenth = upstreamGets();
    const final = await counts(cache);
    t.log(`base blobs ${image.blobs.map((b) => `${b.digest.slice(0, 19)} (${b.size} B)`).join(', ')}`);
    t.log(
      `upstream GETs per base blob: after build 1 ${afterFirst.join(', ')}; after build 10 ${afterTenth.join(', ')}`,
    );
    t.log(`cache: after build 1 ${JSON.stringify(countsAfterFirst)}; after build 10 ${JSON.stringify(final)}`);
    for (const [i, b] of image.blobs.entries()) {
      // Registry 2.8's proxy fetches a missed blob twice (one stream for the client, one to store).
      t.true(
        afterFirst[i]! >= 1 && afterFirst[i]! <= 2,
        `${b.digest}: fetched from the upstream in the first build (${afterFirst[i]} GETs)`,
      );
      t.is(afterTenth[i], afterFirst[i], `${b.digest}: no upstream GET after the first build`);
    }
    t.deepEqual(countsAfterFirst, { hits: 0, misses: image.blobs.length }, 'the first build missed every base blob');
    t.deepEqual(
      final,
      { hits: 9 * image.blobs.length, misses: image.blobs.length },
      'builds 2–10 were served every base blob from the node',
    );
  },
);

test('planEviction: expired blobs first, then least recently used down to the limit; manifests never; ties by digest', (t) => {
  const now = 100 * HOUR;
  const blob = (digest: string, size: number, ageH: number, kind: CachedBlob['kind'] = 'blob'): CachedBlob => ({
    digest,
    size,
    lastAccessMs: now - ageH * HOUR,
    kind,
  });
  const blobs = [
    blob('sha256:m', 10, 500, 'manifest'),
    blob('sha256:old', 100, 30),
    blob('sha256:edge', 50, 24),
    blob('sha256:b', 200, 5),
    blob('sha256:a', 300, 5),
    blob('sha256:new', 400, 1),
  ];

  const ttlOnly = planEviction(blobs, now, 24 * HOUR, 10_000);
  t.deepEqual(
    ttlOnly.evict,
    [{ digest: 'sha256:old', size: 100, why: 'expired' }],
    'accessed exactly a TTL ago stays; the manifest stays however old',
  );
  t.is(ttlOnly.bytesBefore, 1060);
  t.is(ttlOnly.bytesAfter, 960);

  const limited = planEviction(blobs, now, 24 * HOUR, 500);
  t.deepEqual(
    limited.evict.map((e) => [e.digest, e.why]),
    [
      ['sha256:old', 'expired'],
      ['sha256:edge', 'over-limit'],
      ['sha256:a', 'over-limit'],
      ['sha256:b', 'over-limit'],
    ],
  );
  t.is(limited.bytesAfter, 410);

  const manifestsOver = planEviction(
    [blob('sha256:m', 1000, 1, 'manifest'), blob('sha256:l', 10, 1)],
    now,
    24 * HOUR,
    500,
  );
  t.deepEqual(
    manifestsOver.evict.map((e) => e.digest),
    ['sha256:l'],
    'manifests alone over the limit: every blob goes, the manifest stays',
  );
  t.is(manifestsOver.bytesAfter, 1000);

  t.deepEqual(planEviction([], now, HOUR, 0), { evict: [], bytesBefore: 0, bytesAfter: 0 });
});

test.serial(
  'a sweep evicts blobs past the TTL from storage (manifests stay) and the next pull fetches them from the upstream again',
  async (t) => {
    const { upstream, image } = await busyboxUpstream(t);
    let clock = Date.now();
    const cache = await startCache(t, upstream, { ttl: '1h' }, () => clock);
    t.is((await pullThrough(cache.address, 'library/busybox', 'latest')).status, 200);
    const stored = async () => (await cache.storage.blobs()).map((b) => b.digest).sort();
    await eventually(
      'the manifest and both blobs stored',
      async () => (await stored()).length === image.blobs.length + 1,
      { timeoutMs: 10_000 },
    );
    const fetched = image.blobs.map((b) => upstream.blobGets(b.digest));
    t.true(
      fetched.every((n) => n >= 1),
      'the first pull fetched every blob from the upstream',
    );

    const young = await cache.sweep();
    t.deepEqual(young.evict, [], 'nothing is past the TTL yet');

    clock += 2 * HOUR;
    const plan = await cache.sweep();
    t.deepEqual(
      plan.evict.map((e) => e.digest).sort(),
      image.blobs.map((b) => b.digest).sort(),
      'config and layer evicted',
    );
    t.true(plan.evict.every((e) => e.why === 'expired'));
    t.deepEqual(await stored(), [image.manifestDigest], 'only the manifest is left in storage');
    t.is(
      await metricValue(cache.metricsAddress!, 'slipway_node_cache_evictions_total', { why: 'expired' }),
      image.blobs.length,
    );
    t.is(
      await metricValue(cache.metricsAddress!, 'slipway_node_cache_evicted_bytes_total'),
      image.blobs.reduce((s, b) => s + b.size, 0),
    );
    t.is(await metricValue(cache.metricsAddress!, 'slipway_node_cache_bytes'), plan.bytesAfter);

    const missesBefore = (await counts(cache)).misses;
    t.is((await pullThrough(cache.address, 'library/busybox', 'latest')).status, 200, 'a pull after eviction works');
    t.is((await counts(cache)).misses, missesBefore + image.blobs.length, 'and misses every evicted blob');
    for (const [i, b] of image.blobs.entries())
      t.true(upstream.blobGets(b.digest) > fetched[i]!, `${b.digest} fetched from the upstream again`);
    await eventually(
      'the manifest and both blobs stored',
      async () => (await stored()).length === image.blobs.length + 1,
      { timeoutMs: 10_000 },
    );
  },
);

test.serial(
  'over the storage limit, a sweep evicts the least recently pulled blob first and stops once under it',
  async (t) => {
    const { upstream, image } = await busyboxUpstream(t);
    const [config, layer] = image.blobs as [{ digest: string; size: number }, { digest: string; size: number }];
    // Room for the manifest and the config, not the layer too.
    const cache = await startCache(t, upstream, { maxBytes: String(config.size + 2000) });
    await pullThrough(cache.address, 'library/busybox', 'latest');
    await eventually(
      'the manifest and both blobs stored',
      async () => (await cache.storage.blobs()).length === image.blobs.length + 1,
      { timeoutMs: 10_000 },
    );
    // The layer was pulled an hour ago, the config just now (the front touches what it serves).
    const hourAgo = new Date(Date.now() - HOUR);
    await utimes(path.join(cache.storage.blobFolder(layer.digest)!, 'data'), hourAgo, hourAgo);
    const served = Date.now();
    await fetch(`http://${cache.address}/v2/library/busybox/blobs/${config.digest}`).then((r) => r.arrayBuffer());
    await eventually(
      'the front to touch the config it served',
      async () => (await cache.storage.blobs()).some((b) => b.digest === config.digest && b.lastAccessMs >= served),
      { timeoutMs: 10_000 },
    );

    const plan = await cache.sweep();
    t.deepEqual(plan.evict, [{ digest: layer.digest, size: layer.size, why: 'over-limit' }]);
    t.true(plan.bytesAfter <= config.size + 2000);
    t.false(await cache.storage.hasBlob(layer.digest));
    t.true(await cache.storage.hasBlob(config.digest));
    t.is(await metricValue(cache.metricsAddress!, 'slipway_node_cache_evictions_total', { why: 'over-limit' }), 1);
  },
);

test.serial(
  'the internal registry killed is started again, and the next pull works from what it had stored; stop leaves no registry behind',
  async (t) => {
    const { upstream, image } = await busyboxUpstream(t);
    const cache = await startCache(t, upstream);
    await pullThrough(cache.address, 'library/busybox', 'latest');
    const first = cache.registry.pid!;
    t.truthy(first);
    t.deepEqual(await processesMentioning(cache.registry.configPath), [first]);
    process.kill(first, 'SIGKILL');

    await eventually('a new registry process', () => cache.registry.pid !== undefined && cache.registry.pid !== first, {
      timeoutMs: 15_000,
    });
    await cache.registry.waitReady(15_000);
    const upstreamBefore = image.blobs.map((b) => upstream.blobGets(b.digest));
    const { hits } = await counts(cache);
    t.is((await pullThrough(cache.address, 'library/busybox', 'latest')).status, 200);
    t.is((await counts(cache)).hits, hits + image.blobs.length, 'served from storage the killed registry left');
    t.deepEqual(
      image.blobs.map((b) => upstream.blobGets(b.digest)),
      upstreamBefore,
    );
    t.is(await metricValue(cache.metricsAddress!, 'slipway_node_cache_registry_restarts_total'), 1);

    await cache.stop();
    t.deepEqual(await processesMentioning(cache.registry.configPath), [], 'no docker-registry is left after stop');
  },
);

test.serial(
  'an upstream that needs credentials: pulls work through the cache, the config file is 0600, the password is in no log, metric or error',
  async (t) => {
    const auth = { user: 'mirror', password: `pw-${randomBytes(12).toString('hex')}` };
    const { upstream, image } = await busyboxUpstream(t, auth);
    t.is(
      (await fetch(`http://${upstream.address}/v2/library/busybox/manifests/latest`)).status,
      401,
      'the upstream refuses anonymous pulls',
    );
    const root = await tempDir(t, 'slipway-node-cache-');
    const listen = `127.0.0.1:${await freePort()}`;
    const metrics = `127.0.0.1:${await freePort()}`;
    const env = {
      PATH: process.env.PATH ?? '',
      SLIPWAY_CACHE_UPSTREAM: `http://${upstream.address}`,
      SLIPWAY_CACHE_UPSTREAM_USERNAME: auth.user,
      SLIPWAY_CACHE_UPSTREAM_PASSWORD: auth.password,
      SLIPWAY_CACHE_LISTEN: listen,
      SLIPWAY_CACHE_ROOT: root,
      SLIPWAY_METRICS_ADDR: metrics,
      SLIPWAY_REGISTRY_BINARY: 'docker-registry',
      SLIPWAY_LOG_LEVEL: 'debug',
    };
    const service = spawnForTest(t, process.execPath, [path.resolve('dist/node-cache/main.js')], { env });
    await waitForPort(Number(listen.split(':')[1])).catch((err: Error) => {
      throw new Error(`${err.message}\n${service.output()}`);
    });

    t.is(
      (await pullThrough(listen, 'library/busybox', 'latest')).status,
      200,
      'pulled anonymously from the cache, which authenticates upstream',
    );
    // The upstream logs a request once it has answered it: give its log a moment.
    // The assertions below say what is missing.
    await upstream.logCaughtUp();
    for (const b of image.blobs)
      t.true(upstream.blobGets(b.digest) >= 1, `${b.digest} from the upstream:\n${upstream.output()}`);
    t.true(upstream.tokensIssued() >= 2, 'the cache got tokens with the credentials (the copy got one)');
    // A blob the upstream does not have: the registry reports (and logs) an upstream error.
    const unknown = await fetch(`http://${listen}/v2/library/busybox/blobs/sha256:${'0'.repeat(64)}`);
    t.true(unknown.status >= 400, `an unknown blob: ${unknown.status}`);
    t.is(
      (await stat(path.join(root, 'registry.yml'))).mode & 0o777,
      0o600,
      'the registry config (with the credentials) is 0600',
    );
    t.regex(await readFile(path.join(root, 'registry.yml'), 'utf8'), /password/);

    const metricsText = await (await fetch(`http://${metrics}/metrics`)).text();
    t.regex(metricsText, /slipway_node_cache_blob_misses_total\{[^}]*\} 2/);
    service.kill('SIGTERM');
    await new Promise((r) => service.once('exit', r));
    t.is(service.exitCode, 0, service.output());
    const forms = [auth.password, Buffer.from(`${auth.user}:${auth.password}`).toString('base64')];
    for (const text of [service.output(), metricsText])
      for (const f of forms) t.false(text.includes(f), 'no password in the output or metrics');
    t.regex(service.output(), /"authenticated":true/);
    t.deepEqual(await processesMentioning(path.join(root, 'registry.yml')), [], 'its registry stopped with it');
  },
);

test('settings errors name the setting and why, and never repeat credentials', async (t) => {
  const err = t.throws(
    () => resolveNodeCacheConfig({ listen: 'localhost', maxBytes: '20Zi', ttl: 'soon', sweepIntervalMs: 5 }),
    { instanceOf: InvalidInputError },
  )!;
  t.deepEqual(
    err.fields.map((f) => f.field),
    ['SLIPWAY_CACHE_LISTEN', 'SLIPWAY_CACHE_MAX_BYTES', 'SLIPWAY_CACHE_TTL', 'SLIPWAY_CACHE_SWEEP_INTERVAL_MS'],
  );
  t.regex(err.message, /SLIPWAY_CACHE_LISTEN: "localhost" is not host:port/);
  t.regex(err.message, /SLIPWAY_CACHE_MAX_BYTES: "20Zi" is not a positive number of bytes/);
  t.is(resolveNodeCacheConfig({ maxBytes: '1Gi', ttl: '12h' }).maxBytesValue, 2 ** 30);
  t.is(resolveNodeCacheConfig({ ttl: '1h30m' }).ttlMs, 90 * 60_000);
  t.is(resolveNodeCacheConfig({ listen: '[::1]:5001' }).listen, '[::1]:5001');
  t.is(
    t.throws(() => resolveNodeCacheConfig({ listen: '127.0.0.1:70000' }), { instanceOf: InvalidInputError })!.field,
    'SLIPWAY_CACHE_LISTEN',
  );

  const secret = `s3cr3t-${unique()}`;
  for (const upstream of [`https://user:${secret}@registry.example`, `user:${secret}@registry.example`, `${secret}`]) {
    const e = t.throws(() => resolveNodeCacheConfig({ upstream }), { instanceOf: InvalidInputError })!;
    t.is(e.field, 'SLIPWAY_CACHE_UPSTREAM');
    t.false(e.message.includes(secret), e.message);
  }
  const half = t.throws(() => resolveNodeCacheConfig({ upstreamPassword: secret }), { instanceOf: InvalidInputError })!;
  t.is(half.field, 'SLIPWAY_CACHE_UPSTREAM_USERNAME');
  t.false(half.message.includes(secret));

  // The service refuses to start on them, saying which setting, and exits 1.
  const service = spawnForTest(t, process.execPath, [path.resolve('dist/node-cache/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      SLIPWAY_CACHE_MAX_BYTES: 'lots',
      SLIPWAY_CACHE_UPSTREAM_PASSWORD: secret,
      SLIPWAY_CACHE_UPSTREAM_USERNAME: 'u',
      SLIPWAY_CACHE_ROOT: await tempDir(t),
    },
  });
  await new Promise((r) => service.once('exit', r));
  t.is(service.exitCode, 1);
  t.regex(service.output(), /SLIPWAY_CACHE_MAX_BYTES: \\?"lots\\?" is not a positive number of bytes/);
  t.false(service.output().includes(secret));
});
