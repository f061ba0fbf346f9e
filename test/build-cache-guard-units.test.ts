import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { BuildCacheGuard } from '../agent/gc/build-cache-guard.js';
import { AbortedError } from '../common/errors.js';

/** A prune that records when it ran and ends when told. */
function controlledPrune(events: string[]) {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  return {
    prune: async () => {
      events.push('prune started');
      await ended;
      events.push('prune ended');
      return 7;
    },
    end: () => end(),
  };
}

test('a prune waits until the build holding the guard lets go', async (t) => {
  const guard = new BuildCacheGuard();
  const events: string[] = [];
  const release = await guard.holdContext();
  const pruned = guard.whilePruning(async () => {
    events.push('prune');
    return 1;
  }, 10_000);
  await sleep(50);
  t.deepEqual(events, [], 'no prune while a build sends its context');
  release();
  release(); // the build ends too: a second release changes nothing
  t.deepEqual(await pruned, { ran: true, value: 1 });
  t.deepEqual(events, ['prune']);
});

test('a build that comes during a prune sends its context only after the prune ended', async (t) => {
  const guard = new BuildCacheGuard();
  const events: string[] = [];
  const p = controlledPrune(events);
  const pruned = guard.whilePruning(p.prune, 10_000);
  const held = guard.holdContext().then((release) => {
    events.push('build holds');
    return release;
  });
  await sleep(20);
  t.deepEqual(events, ['prune started']);
  p.end();
  (await held)();
  t.deepEqual(await pruned, { ran: true, value: 7 });
  t.deepEqual(events, ['prune started', 'prune ended', 'build holds']);
});

test('a build waiting on a prune gets in before the next prune starts', async (t) => {
  const guard = new BuildCacheGuard();
  const events: string[] = [];
  const first = controlledPrune(events);
  const pruned = guard.whilePruning(first.prune, 10_000);
  const held = guard.holdContext().then((release) => {
    events.push('build holds');
    return release;
  });
  first.end();
  await pruned;
  // Straight after, as a GC pruning again and again would.
  const second = guard.whilePruning(async () => {
    events.push('second prune');
    return 0;
  }, 10_000);
  const release = await held;
  await sleep(20);
  t.deepEqual(events, ['prune started', 'prune ended', 'build holds']);
  release();
  await second;
  t.deepEqual(events, ['prune started', 'prune ended', 'build holds', 'second prune']);
});

test('a prune that builds keep waiting past its wait does not run, and says how many held it', async (t) => {
  const guard = new BuildCacheGuard();
  const a = await guard.holdContext();
  const b = await guard.holdContext();
  let ran = false;
  const result = await guard.whilePruning(async () => (ran = true), 50);
  t.false(ran);
  t.false(result.ran);
  if (!result.ran) {
    t.is(result.loading, 2);
    t.true(result.waitedMs >= 40);
  }
  a();
  b();
  t.true((await guard.whilePruning(async () => true, 50)).ran, 'once they let go, a prune runs');
});

test('a build aborted while it waits for a prune throws AbortedError and holds nothing', async (t) => {
  const guard = new BuildCacheGuard();
  const events: string[] = [];
  const p = controlledPrune(events);
  const pruned = guard.whilePruning(p.prune, 10_000);
  const abort = new AbortController();
  const held = guard.holdContext(abort.signal);
  abort.abort();
  await t.throwsAsync(held, { instanceOf: AbortedError });
  p.end();
  await pruned;
  t.true((await guard.whilePruning(async () => true, 0)).ran, 'the aborted build does not keep prunes out');
});
