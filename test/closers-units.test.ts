import test from 'ava';
import { Closers } from '../common/closers.js';

test('closers run newest first, each awaited before the next', async (t) => {
  const closers = new Closers();
  const ran: string[] = [];
  closers.defer(() => ran.push('nats'));
  closers.defer(async () => {
    await new Promise((r) => setTimeout(r, 10));
    ran.push('server');
  });
  closers.defer(() => ran.push('loops'));
  await closers.close();
  t.deepEqual(ran, ['loops', 'server', 'nats']);
});

test('a closer that fails does not stop the rest; its error is what close rejects with', async (t) => {
  const closers = new Closers();
  const ran: string[] = [];
  closers.defer(() => ran.push('first'));
  closers.defer(() => {
    throw new Error('server would not stop');
  });
  closers.defer(() => ran.push('last'));
  await t.throwsAsync(closers.close(), { message: 'server would not stop' });
  t.deepEqual(ran, ['last', 'first']);
});

test('several failures come as one AggregateError, newest first', async (t) => {
  const closers = new Closers();
  closers.defer(() => Promise.reject(new Error('older')));
  closers.defer(() => Promise.reject(new Error('newer')));
  const err = await t.throwsAsync(closers.close(), { instanceOf: AggregateError });
  t.deepEqual(
    (err as AggregateError).errors.map((e: Error) => e.message),
    ['newer', 'older'],
  );
});

test('close is idempotent: a second call runs nothing again and answers the same', async (t) => {
  const closers = new Closers();
  let runs = 0;
  closers.defer(() => runs++);
  const first = closers.close();
  const second = closers.close();
  t.is(first, second);
  await second;
  await closers.close();
  t.is(runs, 1);
});

test('an empty stack closes at once', async (t) => {
  await t.notThrowsAsync(new Closers().close());
});

test('a closer pushed once the stack is closing is refused', async (t) => {
  const closers = new Closers();
  void closers.close();
  t.throws(() => closers.defer(() => undefined), { message: /after its stack was closed/ });
});
