import test from 'ava';
import { WarmSet } from '../agent/warm-set.js';

test('WarmSet: newest first, bounded; forgetting what is gone drops the images and the configs whose output went', async (t) => {
  const warm = new WarmSet(3);
  warm.built('ns/a', ['out-a', 'base-1']);
  warm.built('ns/b', ['out-b', 'base-1']);
  t.deepEqual(warm.advertised, { configs: ['ns/b', 'ns/a'], images: ['out-b', 'base-1', 'out-a'] });

  // out-a and base-1 are gone: ns/a goes (its output), ns/b stays (its output is there).
  const gone = new Set(['out-a', 'base-1']);
  t.is(await warm.forgetMissing(async (ref) => !gone.has(ref)), 3);
  t.deepEqual(warm.advertised, { configs: ['ns/b'], images: ['out-b'] });

  // At most 3 of each: the oldest fall off.
  warm.built('ns/x', ['1', '2', '3', '4']);
  t.deepEqual(warm.advertised.images, ['1', '2', '3']);
});

test('WarmSet: an image used again while the daemon is asked stays, and so does its config; a failed question keeps the image', async (t) => {
  const warm = new WarmSet();
  warm.built('ns/a', ['out-a', 'base-1']);
  warm.built('ns/c', ['out-c']);
  const forgotten = await warm.forgetMissing(async (ref) => {
    if (ref === 'out-c') throw new Error('daemon did not answer');
    // A build of ns/a ends while its output is looked up: it is on the daemon again.
    if (ref === 'out-a') warm.built('ns/a', ['out-a', 'base-1']);
    return false;
  });
  t.is(forgotten, 0);
  t.deepEqual(warm.advertised, { configs: ['ns/a', 'ns/c'], images: ['out-a', 'base-1', 'out-c'] });
});
