import test from 'ava';
import { WorkQueue } from '../coordinator/build-controller/work-queue.js';

test('a key is queued once however often it is added', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  q.add('a');
  q.add('b');
  t.is(q.length, 2);
  t.is(await q.get(), 'a');
  t.is(await q.get(), 'b');
});

test('a key added while it is processed comes back after done, not before', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  const key = (await q.get())!;
  q.add('a');
  t.is(q.length, 0);
  q.done(key);
  t.is(q.length, 1);
  t.is(await q.get(), 'a');
});

test('failed keys come back after a growing backoff; shutdown releases waiting workers', async (t) => {
  const q = new WorkQueue({ baseDelayMs: 20, maxDelayMs: 1000 });
  const started = Date.now();
  q.addRateLimited('a');
  t.is(await q.get(), 'a');
  q.done('a');
  t.true(Date.now() - started >= 15);
  q.addRateLimited('a');
  const second = Date.now();
  t.is(await q.get(), 'a');
  t.true(Date.now() - second >= 35);
  q.done('a');
  const waiting = q.get();
  q.shutdown();
  t.is(await waiting, undefined);
});

test('a delayed add that is cancelled never queues its key; a later one still does', async (t) => {
  const q = new WorkQueue();
  q.addAfter('ended', 20);
  q.addAfter('running', 20);
  q.cancelDelayed('ended');
  await new Promise((r) => setTimeout(r, 60));
  t.is(q.length, 1);
  t.is(await q.get(), 'running');
  q.addAfter('ended', 10);
  await new Promise((r) => setTimeout(r, 40));
  t.is(await q.get(), 'ended', 'cancelling left no timer behind that blocks the next addAfter');
});
