import test from 'ava';
import { connect } from '@nats-io/transport-node';
import { silentLogger } from '../common/log.js';
import type { Build } from '../api/types.js';
import { BuildCache, type BuildChange } from '../coordinator/store/build-cache.js';
import { openStateStore } from '../coordinator/store/state-store.js';
import { startNatsServer } from './helpers/nats-server.js';
import { eventually } from './helpers/eventually.js';
import { minimalBuild } from './helpers/minimal-build.js';

const build = (phase: Build['status']['phase']): Build => minimalBuild(phase, 1);

// The watch brings back every build this coordinator writes; a whole build parsed again each
// time was a visible part of its CPU a build. A change it wrote is handed over as written (the
// same object), one written elsewhere as the watch decoded it; both in order, each once.
test('the watch hands over a build this cache wrote as written, without decoding it again, and one written elsewhere as decoded', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const store = await openStateStore(nc, { replicas: 1, history: 5 });
  const cache = new BuildCache(store.builds, silentLogger);
  const changes: BuildChange[] = [];
  cache.subscribe({ listed: () => {}, changed: (c) => void changes.push(c) });
  const abort = new AbortController();
  const running = cache.run(abort.signal);
  t.teardown(async () => {
    abort.abort();
    await running;
  });

  const key = 'default.app-1';
  const created = build('New');
  const r1 = await cache.create(key, created);
  const pending = build('Pending');
  const r2 = await cache.update(key, pending, r1);
  // Another coordinator's write.
  const elsewhere = await connect({ servers: nats.url });
  t.teardown(() => elsewhere.close());
  const other = await openStateStore(elsewhere, { replicas: 1, history: 5 });
  const running2 = build('Running');
  const r3 = await other.builds.update(key, running2, r2);
  const complete = build('Complete');
  const r4 = (await cache.mutate(key, () => complete))!.revision;
  await eventually('the watch to bring all four writes', () => changes.length >= 4, { timeoutMs: 10_000 });

  t.deepEqual(
    changes.map((c) => c.build?.status.phase),
    ['New', 'Pending', 'Running', 'Complete'],
  );
  t.is(changes[0]!.build, created, `revision ${r1}, written here: the object written`);
  t.is(changes[1]!.build, pending, `revision ${r2}, written here: the object written`);
  t.not(changes[2]!.build, running2, `revision ${r3}, written elsewhere: decoded`);
  t.deepEqual(changes[2]!.build, running2);
  t.is(changes[3]!.build, complete, `revision ${r4}, written here and terminal: the object written`);
  t.is(cache.get(key), undefined, 'the ended build is no longer held');
});
