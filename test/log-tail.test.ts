import test from 'ava';
import { LogTail } from '../agent/logs/log-tail.js';
import { StageTimer } from '../agent/stages/stage-timer.js';

test('a log tail keeps the last lines, within its byte limit, cutting the oldest first', (t) => {
  const tail = new LogTail(3, 20);
  t.is(tail.text(), '');
  for (const l of ['one', 'two', 'three', 'four']) tail.push(l);
  t.is(tail.text(), 'two\nthree\nfour');
  tail.push('a-much-longer-line');
  t.is(tail.text(), 'a-much-longer-line', 'older lines go when the bytes run out');
  tail.push('é'.repeat(30));
  t.is(tail.text(), 'é'.repeat(10), 'one line longer than the limit keeps its end, whole characters');
  const chatty = new LogTail(3, 100);
  for (let i = 1; i <= 1000; i++) chatty.push(`line-${i}`);
  t.is(chatty.text(), 'line-998\nline-999\nline-1000', 'the last lines, in order, however many came');
});

test('stages are recorded in the order they ran, a failing one with its time up to the failure, and none after it', async (t) => {
  let ms = Date.parse('2026-01-01T00:00:00Z');
  const timer = new StageTimer(() => new Date(ms));
  await timer.run('FetchInputs', async () => void (ms += 1500));
  await timer.run('PullImages', async () => undefined);
  await t.throwsAsync(
    timer.run('Build', async () => {
      ms += 250;
      throw new Error('step failed');
    }),
    { message: 'step failed' },
  );
  t.deepEqual(timer.list(), [
    { name: 'FetchInputs', startTimestamp: '2026-01-01T00:00:00.000Z', durationMs: 1500 },
    { name: 'PullImages', startTimestamp: '2026-01-01T00:00:01.500Z', durationMs: 0 },
    { name: 'Build', startTimestamp: '2026-01-01T00:00:01.500Z', durationMs: 250 },
  ]);
  await timer.run('PushImage', async () => void (ms -= 1000));
  t.is(timer.list().at(-1)!.durationMs, 0, 'a clock set back counts as no time, never less');
});
