import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { InvalidBuildConfigError, InvalidInputError, StaleAttemptError } from '../common/errors.js';
import type { Build, BuildConfigSpec } from '../api/types.js';
import { validateBuildConfigSpec } from '../api/validation.js';
import { InvalidSourceImageContentError } from '../agent/build-failures.js';
import { archivePath, destinationFolder, destinationParts } from '../agent/source/image-sources.js';
import { SourceImageLeases } from '../agent/source/source-image-leases.js';
import { pinStrategyImage } from '../coordinator/builds/build-api.js';
import {
  assignAttempt,
  claim,
  loseAttempt,
  markQueued,
  place,
  recordSourceImages,
} from '../coordinator/builds/transitions.js';
import { watchedImagePullSecret } from '../coordinator/triggers/image-change.js';
import { canonicalImage, type CanonicalImage } from '../common/image-reference.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const now = new Date('2026-01-01T00:00:00Z');

function spec(source: Record<string, unknown>): unknown {
  return { source, strategy: { docker: {} }, output: { image: 'reg.example/app:v1' } };
}

/** The field paths validation names for a spec, or [] when it is valid. */
function refused(source: Record<string, unknown>): string[] {
  try {
    validateBuildConfigSpec(spec(source));
    return [];
  } catch (err) {
    if (!(err instanceof InvalidBuildConfigError)) throw err;
    return err.fields.map((f) => f.field);
  }
}

test('validation: source.images alone, or with git; paths absolute in the image, destinations relative and inside', (t) => {
  const valid = validateBuildConfigSpec(
    spec({
      images: [
        {
          from: 'reg.example/deps:v1',
          pullSecret: { name: 'pull' },
          paths: [{ sourcePath: '/opt/lib/.', destinationDir: 'vendor/lib' }, { sourcePath: '/bin/tool' }],
        },
      ],
    }),
  );
  t.is(valid.source.images?.[0]?.paths[1]?.destinationDir, undefined);
  t.deepEqual(
    refused({ git: { uri: 'git://h/r' }, images: [{ from: `reg.example/d@${D1}`, paths: [{ sourcePath: '/' }] }] }),
    [],
  );

  const one = (p: Record<string, unknown>, from = 'reg.example/deps:v1') => refused({ images: [{ from, paths: [p] }] });
  t.deepEqual(one({ sourcePath: '/x', destinationDir: '../up' }), ['spec.source.images[0].paths[0].destinationDir']);
  t.deepEqual(one({ sourcePath: '/x', destinationDir: 'a/../../b' }), [
    'spec.source.images[0].paths[0].destinationDir',
  ]);
  t.deepEqual(one({ sourcePath: '/x', destinationDir: '/etc' }), ['spec.source.images[0].paths[0].destinationDir']);
  t.deepEqual(one({ sourcePath: 'relative/x' }), ['spec.source.images[0].paths[0].sourcePath']);
  t.deepEqual(one({ sourcePath: '/opt/../etc' }), ['spec.source.images[0].paths[0].sourcePath']);
  t.deepEqual(one({ sourcePath: '/x' }, 'Not An Image!'), ['spec.source.images[0].from']);
  t.deepEqual(refused({ images: [{ from: 'reg.example/d', paths: [] }] }), ['spec.source.images[0].paths']);
  t.deepEqual(
    refused({ images: [{ from: 'reg.example/d', paths: [{ sourcePath: '/x' }], pullSecret: { name: 'Bad_Name' } }] }),
    ['spec.source.images[0].pullSecret.name'],
  );
  const many = Array.from({ length: 17 }, () => ({ from: 'reg.example/d', paths: [{ sourcePath: '/x' }] }));
  t.deepEqual(refused({ images: many }), ['spec.source.images']);
});

test('the archive path asked for: as given, the image root as its contents', (t) => {
  t.is(archivePath('/opt/app'), '/opt/app');
  t.is(archivePath('/opt/app/.'), '/opt/app/.');
  t.is(archivePath('/'), '/.');
  t.is(archivePath('//'), '/.');
});

test('destination folders: components under the context; absolute, ".." and NUL refused', (t) => {
  const field = 'source.images[0].paths[0].destinationDir';
  t.deepEqual(destinationParts('', field), []);
  t.deepEqual(destinationParts('.', field), []);
  t.deepEqual(destinationParts('a//b/./c/', field), ['a', 'b', 'c']);
  for (const bad of ['/abs', 'a/../b', '..', 'a\0b']) {
    const err = t.throws(() => destinationParts(bad, field), { instanceOf: InvalidSourceImageContentError });
    t.is(err?.reason, 'InvalidSourceImageContent');
    t.true(err?.message.startsWith(field), err?.message);
  }
});

test('a destination folder is made inside the context, never through a link or a file of the source', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'slipway-dest-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const context = path.join(root, 'context');
  await mkdir(context);
  const made = await destinationFolder(context, 'vendor/lib', 'f');
  t.true((await stat(made)).isDirectory());
  t.true(made.endsWith(path.join('context', 'vendor', 'lib')));
  t.is(await destinationFolder(context, '', 'f'), made.slice(0, made.length - '/vendor/lib'.length));

  await mkdir(path.join(root, 'outside'));
  await symlink('../outside', path.join(context, 'escape'));
  await writeFile(path.join(context, 'file'), 'x');
  const link = await t.throwsAsync(destinationFolder(context, 'escape/x', 'f'), {
    instanceOf: InvalidSourceImageContentError,
  });
  t.regex(link!.message, /"escape" is a link/);
  await t.throwsAsync(destinationFolder(context, 'file/x', 'f'), { message: /"file" is not a folder/ });
  await t.throwsAsync(stat(path.join(root, 'outside', 'x')), { code: 'ENOENT' });
});

test('source image leases: the last user removes an image the agent pulled, never one that was there; a new user waits for a removal', async (t) => {
  const leases = new SourceImageLeases();
  const removed: string[] = [];
  const remove = (key: string) => async () => {
    await new Promise((r) => setTimeout(r, 20));
    removed.push(key);
  };
  await leases.acquire('a');
  await leases.acquire('a');
  leases.markPulled('a');
  await leases.release('a', remove('a'));
  t.deepEqual(removed, [], 'another build still uses it');
  const removal = leases.release('a', remove('a'));
  // A build that wants the image while it is being removed waits until it is gone (it pulls it again).
  let acquired = false;
  const next = leases.acquire('a').then(() => (acquired = true));
  await new Promise((r) => setImmediate(r));
  t.false(acquired);
  await removal;
  await next;
  t.deepEqual(removed, ['a']);
  // Not pulled by this user: left as it was.
  await leases.release('a', remove('a'));
  t.deepEqual(removed, ['a']);
  t.deepEqual(leases.inUse(), []);
});

const building = (): Build => {
  const b: Build = {
    metadata: {
      name: 'app-1',
      namespace: 'default',
      uid: 'u',
      creationTimestamp: now.toISOString(),
      generation: 1,
      labels: { 'slipway.dev/buildconfig': 'app' },
    },
    spec: {
      configName: 'app',
      configGeneration: 1,
      config: {
        source: { images: [{ from: 'reg.example/deps:v1', paths: [{ sourcePath: '/x' }] }] },
        strategy: { docker: {} },
        output: { image: 'r/a:v' },
        retries: 1,
      },
    },
    status: { phase: 'New', attempt: 0 },
  };
  const pending = assignAttempt(b)!;
  const placed = place(markQueued(pending, 1, now)!, 1, { name: 'a', node: 'n' }, '', now)!;
  return claim(placed, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/1' }, now)!;
};

test('recordSourceImages: the first record stays for every later attempt; fenced by attempt and agent', (t) => {
  const running = building();
  const images = [{ from: 'reg.example/deps:v1', digest: D1 }];
  const recorded = recordSourceImages(running, { attempt: 1, agent: 'a', images }, now)!;
  t.deepEqual(recorded.status.sourceImages, images);
  t.is(recorded.status.events?.at(-1)?.reason, 'SourceImagesResolved');
  t.is(recordSourceImages(recorded, { attempt: 1, agent: 'a', images }, now), undefined, 'a repeat changes nothing');
  t.is(
    recordSourceImages(
      recorded,
      { attempt: 1, agent: 'a', images: [{ from: 'reg.example/deps:v1', digest: D2 }] },
      now,
    ),
    undefined,
    'a second record does not replace the first',
  );
  t.throws(() => recordSourceImages(running, { attempt: 1, agent: 'b', images }, now), {
    instanceOf: StaleAttemptError,
  });
  t.throws(() => recordSourceImages(running, { attempt: 2, agent: 'a', images }, now), {
    instanceOf: StaleAttemptError,
  });
  t.throws(
    () => recordSourceImages(running, { attempt: 1, agent: 'a', images: [{ from: 'other', digest: D1 }] }, now),
    {
      instanceOf: InvalidInputError,
    },
  );

  // The attempt is lost: the retry keeps the digests, so it copies from the same images.
  const retried = loseAttempt(recorded, 'AgentLost', 'gone', now);
  t.is(retried.status.attempt, 2);
  t.deepEqual(retried.status.sourceImages, images);
});

function canon(text: string): CanonicalImage {
  const c = canonicalImage(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
}

test('ImageChange on a source image: the build copies from the new digest, and the poller asks with its pull secret', (t) => {
  const frozen: BuildConfigSpec = {
    source: {
      git: { uri: 'git://h/r' },
      images: [
        { from: 'reg.example/deps:v1', pullSecret: { name: 'deps-pull' }, paths: [{ sourcePath: '/x' }] },
        { from: 'reg.example/other:v1', paths: [{ sourcePath: '/y' }] },
      ],
    },
    strategy: { docker: { pullSecret: { name: 'base-pull' } } },
    output: { image: 'reg.example/app:v1' },
  };
  t.is(watchedImagePullSecret(frozen, canon('reg.example/deps:v1')), 'deps-pull');
  t.is(watchedImagePullSecret(frozen, canon('reg.example/other:v1')), undefined);
  t.is(watchedImagePullSecret(frozen, canon('reg.example/base:v1')), 'base-pull');
  pinStrategyImage(frozen, { image: 'reg.example/deps:v1', digest: D1 });
  t.is(frozen.source.images![0]!.from, `reg.example/deps@${D1}`);
  t.is(frozen.source.images![1]!.from, 'reg.example/other:v1');
  t.is(frozen.strategy.docker!.forcePull, undefined, 'the bases are not pulled afresh for a source image');
});
