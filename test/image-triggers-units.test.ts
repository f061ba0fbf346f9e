import test from 'ava';
import { InvalidBuildConfigError, InvalidInputError } from '../common/errors.js';
import { canonicalImage, type CanonicalImage } from '../common/image-reference.js';
import type { BuildConfig, BuildConfigSpec } from '../api/types.js';
import { validateBuildConfigSpec } from '../api/validation.js';
import { resolveCoordinatorConfig } from '../coordinator/config.js';
import { decideConfigChange } from '../coordinator/triggers/config-change.js';
import { baselineStatus, decideImageChange, watchedImages } from '../coordinator/triggers/image-change.js';
import { registryBaseUrl } from '../common/registry-client.js';
import { manifestPushes } from '../coordinator/triggers/registry-notifications.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

function canon(text: string): CanonicalImage {
  const c = canonicalImage(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
}

function config(
  spec: Partial<BuildConfigSpec>,
  status: BuildConfig['status'] = { lastVersion: 0 },
  generation = 1,
): BuildConfig {
  return {
    metadata: { name: 'app', namespace: 'default', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z', generation },
    spec: { source: { dockerfile: 'FROM x' }, strategy: { docker: {} }, output: { image: 'reg.example/app' }, ...spec },
    status,
  };
}

test('canonical images: Docker Hub defaults, host case and port 443, tags', (t) => {
  t.deepEqual(canon('busybox'), { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' });
  t.deepEqual(canon('index.docker.io/library/busybox:1.36'), canon('busybox:1.36'));
  t.deepEqual(canon('registry-1.docker.io/team/app'), { registry: 'docker.io', repository: 'team/app', tag: 'latest' });
  t.deepEqual(canon('Registry.Example.com:443/a/b:v1'), {
    registry: 'registry.example.com',
    repository: 'a/b',
    tag: 'v1',
  });
  t.deepEqual(canon('127.0.0.1:5000/base/img'), { registry: '127.0.0.1:5000', repository: 'base/img', tag: 'latest' });
  t.deepEqual(canon('reg.example/a@' + D1), { registry: 'reg.example', repository: 'a', tag: 'latest' });
  t.is(typeof canonicalImage('reg.example//b'), 'string');
});

test('registries are asked over https, but over http when loopback or listed insecure', (t) => {
  t.is(registryBaseUrl('127.0.0.1:5000'), 'http://127.0.0.1:5000');
  t.is(registryBaseUrl('localhost:5000'), 'http://localhost:5000');
  t.is(registryBaseUrl('[::1]:5000'), 'http://[::1]:5000');
  t.is(registryBaseUrl('registry.internal:5000'), 'https://registry.internal:5000');
  t.is(registryBaseUrl('registry.internal:5000', ['registry.internal:5000']), 'http://registry.internal:5000');
  t.is(registryBaseUrl('docker.io'), 'https://registry-1.docker.io');
});

test('the images a config watches: the trigger’s from, else the strategy’s image; each once', (t) => {
  const docker = config({
    strategy: { docker: { from: 'reg.example/base:v1' } },
    triggers: [{ type: 'ImageChange' }, { type: 'ImageChange', imageChange: { from: 'reg.example/base:v1' } }],
  });
  t.deepEqual(watchedImages(docker.spec), [{ from: 'reg.example/base:v1', image: canon('reg.example/base:v1') }]);
  const s2i = config({
    strategy: { source: { builderImage: 'builder' } },
    triggers: [{ type: 'ImageChange' }, { type: 'ConfigChange' }],
  });
  t.deepEqual(
    watchedImages(s2i.spec).map((w) => w.image),
    [canon('docker.io/library/builder:latest')],
  );
  t.deepEqual(watchedImages(config({ triggers: [{ type: 'ConfigChange' }] }).spec), []);
});

test('decideImageChange: a new digest is recorded; the same digest, an unwatched image or a changed record declines', (t) => {
  const image = canon('reg.example/base:v1');
  const c = config(
    { strategy: { docker: { from: 'reg.example/base:v1' } }, triggers: [{ type: 'ImageChange' }] },
    { lastVersion: 3, imageTriggers: [{ from: 'reg.example/base:v1', lastDigest: D1 }] },
  );
  t.deepEqual(decideImageChange(c, image, D2), {
    lastVersion: 3,
    imageTriggers: [{ from: 'reg.example/base:v1', lastDigest: D2 }],
  });
  t.is(decideImageChange(c, image, D1), undefined, 'already recorded: a duplicate');
  t.is(decideImageChange(c, canon('reg.example/base:v2'), D2), undefined, 'another tag');
  t.is(decideImageChange(c, canon('other.example/base:v1'), D2), undefined, 'another registry');
  // The poller: what it read before asking the registry must still be what is recorded.
  t.truthy(decideImageChange(c, image, D2, D1));
  t.is(decideImageChange(c, image, D3, D2), undefined, 'someone recorded another digest meanwhile');
  t.is(decideImageChange(c, image, D3, null), undefined);
  // Nothing recorded: a notification builds.
  const fresh = config({ strategy: { docker: { from: 'reg.example/base:v1' } }, triggers: [{ type: 'ImageChange' }] });
  t.deepEqual(decideImageChange(fresh, image, D1)?.imageTriggers, [{ from: 'reg.example/base:v1', lastDigest: D1 }]);
  // Records of images the config no longer watches are dropped.
  const moved = config(
    { strategy: { docker: { from: 'reg.example/base:v1' } }, triggers: [{ type: 'ImageChange' }] },
    { lastVersion: 1, imageTriggers: [{ from: 'reg.example/old:v1', lastDigest: D1 }] },
  );
  t.deepEqual(decideImageChange(moved, image, D2)?.imageTriggers, [{ from: 'reg.example/base:v1', lastDigest: D2 }]);
});

test('baselineStatus: records the first digest only', (t) => {
  const image = canon('reg.example/base:v1');
  const fresh = config({ strategy: { docker: { from: 'reg.example/base:v1' } }, triggers: [{ type: 'ImageChange' }] });
  t.deepEqual(baselineStatus(fresh, image, D1), {
    lastVersion: 0,
    imageTriggers: [{ from: 'reg.example/base:v1', lastDigest: D1 }],
  });
  t.is(baselineStatus({ ...fresh, status: baselineStatus(fresh, image, D1)! }, image, D2), undefined);
  t.is(baselineStatus(config({ triggers: [] }), image, D1), undefined);
});

test('decideConfigChange: once per generation, only with the trigger, only for the generation it was offered', (t) => {
  const c = config({ triggers: [{ type: 'ConfigChange' }] }, { lastVersion: 0 }, 1);
  t.deepEqual(decideConfigChange(c, 1), { lastVersion: 0, lastTriggeredGeneration: 1 });
  t.is(decideConfigChange({ ...c, status: { lastVersion: 1, lastTriggeredGeneration: 1 } }, 1), undefined);
  t.is(
    decideConfigChange({ ...c, metadata: { ...c.metadata, generation: 2 } }, 1),
    undefined,
    'moved on: its own change is offered',
  );
  t.deepEqual(
    decideConfigChange(
      { ...c, metadata: { ...c.metadata, generation: 2 }, status: { lastVersion: 1, lastTriggeredGeneration: 1 } },
      2,
    )?.lastTriggeredGeneration,
    2,
  );
  t.is(decideConfigChange(config({ triggers: [{ type: 'ImageChange', imageChange: { from: 'a/b' } }] }), 1), undefined);
});

test('registry events: tagged manifest pushes only, named by the pushing host and the endpoint’s aliases', (t) => {
  const event = (action: string, target: Record<string, unknown>, host = 'Registry.Example.com:443') => ({
    action,
    target: { repository: 'base/img', ...target },
    request: { host },
  });
  const pushes = manifestPushes(
    {
      events: [
        event('push', { mediaType: 'application/octet-stream', digest: D1 }),
        event('pull', { mediaType: MANIFEST, tag: 'v1', digest: D1 }),
        event('push', { mediaType: MANIFEST, digest: D1 }),
        event('push', { mediaType: MANIFEST, tag: 'v1', digest: D2 }),
        event('push', { mediaType: 'application/vnd.oci.image.index.v1+json', tag: 'multi', digest: D3 }),
      ],
    },
    ['registry.svc:5000'],
  );
  t.deepEqual(pushes, [
    { registries: ['registry.example.com', 'registry.svc:5000'], repository: 'base/img', tag: 'v1', digest: D2 },
    { registries: ['registry.example.com', 'registry.svc:5000'], repository: 'base/img', tag: 'multi', digest: D3 },
  ]);
  t.deepEqual(manifestPushes({ events: [] }), []);
  const notEnvelope = t.throws(() => manifestPushes({ event: [] }), { instanceOf: InvalidInputError });
  t.deepEqual(
    notEnvelope.fields.map((f) => f.field),
    ['events'],
  );
  const badDigest = t.throws(
    () => manifestPushes({ events: [event('push', { mediaType: MANIFEST, tag: 'v1', digest: 'md5:xyz' })] }),
    { instanceOf: InvalidInputError },
  );
  t.deepEqual(
    badDigest.fields.map((f) => f.field),
    ['events[0].target.digest'],
  );
});

test('validation: ImageChange and ConfigChange triggers need a config that can build without an upload', (t) => {
  const spec = {
    source: { binary: {} },
    strategy: { docker: { from: 'reg.example/base' } },
    output: { image: 'reg.example/app' },
  };
  for (const type of ['ImageChange', 'ConfigChange']) {
    const err = t.throws(() => validateBuildConfigSpec({ ...spec, triggers: [{ type }] }), {
      instanceOf: InvalidBuildConfigError,
    });
    t.deepEqual(
      err.fields.map((f) => f.field),
      ['spec.triggers[0].type'],
    );
    t.regex(err.fields[0]!.message, /uploaded contexts/);
  }
  t.notThrows(() =>
    validateBuildConfigSpec({
      ...spec,
      source: { binary: {}, dockerfile: 'FROM x' },
      triggers: [{ type: 'ConfigChange' }],
    }),
  );
});

test('validation: an ImageChange trigger watches a tag, not a digest', (t) => {
  const spec = {
    source: { dockerfile: 'FROM x' },
    strategy: { docker: { from: `reg.example/base@${D1}` } },
    output: { image: 'reg.example/app' },
  };
  const err = t.throws(() => validateBuildConfigSpec({ ...spec, triggers: [{ type: 'ImageChange' }] }), {
    instanceOf: InvalidBuildConfigError,
  });
  t.deepEqual(
    err.fields.map((f) => f.field),
    ['spec.triggers[0].imageChange.from'],
  );
  t.regex(err.fields[0]!.message, /names a digest/);
  t.notThrows(() =>
    validateBuildConfigSpec({
      ...spec,
      triggers: [{ type: 'ImageChange', imageChange: { from: 'reg.example/base:v1' } }],
    }),
  );
});

test('settings: the notification token needs the HTTP port; a poll interval is 0 or at least a second', (t) => {
  const fields = (o: Parameters<typeof resolveCoordinatorConfig>[0]) => {
    try {
      resolveCoordinatorConfig(o);
      return [];
    } catch (err) {
      return (err as InvalidInputError).fields.map((f) => f.field);
    }
  };
  t.deepEqual(fields({ registryNotifyTokenFile: '/etc/hostname' }), ['SLIPWAY_HTTP_LISTEN']);
  t.deepEqual(fields({ registryNotifyTokenFile: '/no/such/token', httpListen: '127.0.0.1:0' }), [
    'SLIPWAY_REGISTRY_NOTIFY_TOKEN_FILE',
  ]);
  t.deepEqual(fields({ imagePollIntervalMs: 10 }), ['SLIPWAY_IMAGE_POLL_INTERVAL_MS']);
  t.deepEqual(fields({ imagePollIntervalMs: 0 }), []);
  t.deepEqual(fields({ insecureRegistries: ['http://reg:5000'] }), ['SLIPWAY_INSECURE_REGISTRIES']);
});
