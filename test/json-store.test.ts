import test from 'ava';
import { Kvm, type KV } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { InvalidInputError, RevisionExpiredError } from '../common/errors.js';
import { bucketStream, JsonStore } from '../coordinator/store/json-store.js';
import { startNatsServer } from './helpers/nats-server.js';

test('a listing taken while its keys are being written names each key once', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('json_store_test', { storage: StorageType.File, history: 5 });
  const store = new JsonStore<{ n: number }>(kv, 'Thing', bucketStream(nc, 'json_store_test'));
  const count = 400;
  const revisions = new Map<string, number>();
  for (let i = 0; i < count; i++)
    revisions.set(`default.thing-${i}`, await store.create(`default.thing-${i}`, { n: 0 }));

  // Keep rewriting every key while listing: a key written during a listing is seen again.
  let writing = true;
  const writer = (async () => {
    for (let round = 1; writing; round++) {
      await Promise.all(
        [...revisions.keys()].map(async (k) =>
          revisions.set(k, await store.update(k, { n: round }, revisions.get(k)!)),
        ),
      );
    }
  })();
  try {
    for (let i = 0; i < 5; i++) {
      const listed = (await store.list('default.*')).map((e) => e.value);
      t.is(listed.length, count, `listing ${i + 1} has every key, once`);
    }
  } finally {
    writing = false;
    await writer;
  }
});

test('a snapshot taken while its keys are being written is the state at its revision, and changes after it continue it exactly', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('json_store_snapshot', { storage: StorageType.File, history: 64 });
  const store = new JsonStore<{ n: number }>(kv, 'Thing', bucketStream(nc, 'json_store_snapshot'));
  const revisions = new Map<string, number>();
  for (let i = 0; i < 50; i++) revisions.set(`default.thing-${i}`, await store.create(`default.thing-${i}`, { n: 0 }));
  await store.create('other.thing', { n: 0 });

  // Rewrite (and delete and re-create) keys while snapshots are taken.
  let writing = true;
  const writer = (async () => {
    for (let round = 1; writing; round++) {
      await Promise.all(
        [...revisions.keys()].map(async (k, i) => {
          if (i % 10 === round % 10) {
            await store.delete(k, revisions.get(k)!);
            revisions.set(k, await store.create(k, { n: round }));
          } else revisions.set(k, await store.update(k, { n: round }, revisions.get(k)!));
        }),
      );
    }
  })();
  const snapshots: { revisions: number[]; revision: number }[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const s = await store.snapshot('default.*');
      snapshots.push({ revisions: s.items.map((v) => v.revision).sort((a, b) => a - b), revision: s.revision });
      t.true(s.items.every((v) => v.revision <= s.revision));
    }
  } finally {
    writing = false;
    await writer;
  }

  // Replaying the bucket's history up to each snapshot's revision gives exactly its items.
  const state = new Map<string, number>();
  const byRevision: Map<string, number>[] = [];
  const last = snapshots.at(-1)!.revision;
  const stop = new AbortController();
  let next = 0;
  for await (const c of store.changes(0, stop.signal)) {
    while (next < snapshots.length && c.revision > snapshots[next]!.revision) byRevision[next++] = new Map(state);
    if (c.key.startsWith('default.')) {
      if (c.value) state.set(c.key, c.revision);
      else state.delete(c.key);
    }
    if (c.revision >= last) break;
  }
  stop.abort();
  while (next < snapshots.length) byRevision[next++] = new Map(state);
  snapshots.forEach((s, i) => {
    t.deepEqual(
      s.revisions,
      [...byRevision[i]!.values()].sort((a, b) => a - b),
      `snapshot ${i} at ${s.revision}`,
    );
  });
});

test('changes after a revision whose later history was dropped end with RevisionExpiredError', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('json_store_expired', { storage: StorageType.File, history: 2 });
  const store = new JsonStore<{ n: number }>(kv, 'Thing', bucketStream(nc, 'json_store_expired'));
  let rev = await store.create('a.one', { n: 0 });
  const created = await store.create('a.two', { n: 0 });
  for (let n = 1; n <= 3; n++) rev = await store.update('a.one', { n }, rev);
  // a.one keeps its last two revisions: the changes right after `created` are gone.
  const seen: number[] = [];
  const error = await t.throwsAsync(async () => {
    for await (const c of store.changes(created)) seen.push(c.revision);
  });
  t.true(error instanceof RevisionExpiredError, String(error));
  t.deepEqual(seen, []);
  const stop = new AbortController();
  for await (const c of store.changes(rev - 1, stop.signal)) {
    t.like(c, { key: 'a.one', revision: rev, value: { n: 3 }, created: false });
    break;
  }
  stop.abort();
});

test('a value too large for one NATS message is refused as invalid input, naming the limit, and nothing is stored', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('json_store_size_test', { storage: StorageType.File });
  const store = new JsonStore<{ text: string }>(kv, 'Thing', bucketStream(nc, 'json_store_size_test'), 1000);
  const err = await t.throwsAsync(store.create('default.big', { text: 'x'.repeat(2000) }), {
    instanceOf: InvalidInputError,
  });
  t.regex(err!.message, /would be \d+ bytes stored; a Thing may have at most 1000/);
  t.is(await store.get('default.big'), undefined);
  const revision = await store.create('default.small', { text: 'x' });
  await t.throwsAsync(store.update('default.small', { text: 'x'.repeat(2000) }, revision), {
    instanceOf: InvalidInputError,
  });
  t.deepEqual((await store.get('default.small'))!.value, { text: 'x' });
});

/**
 * The bucket as a replica that has not caught up answers gets: the real NATS bucket, read at an
 * older revision (`behind`), or with no value for keys written since. A stand-in for the lag a
 * restarted follower shows on a cluster, which a test cannot bring about on demand.
 */
function laggingReplica(kv: KV, behind: Map<string, number | 'missing'>): KV {
  // Not a direct-get bucket: JsonStore reads through this get, not a direct get of its own.
  return Object.assign(Object.create(kv) as KV, {
    direct: false,
    get: async (key: string, o?: { revision: number }) => {
      const lag = behind.get(key);
      if (o || lag === undefined) return kv.get(key, o);
      return lag === 'missing' ? null : kv.get(key, { revision: lag });
    },
  });
}

test('mutate decides not to write, or that a key is missing, on the latest revision, not on a replica behind it', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('json_store_lagging', { storage: StorageType.File, history: 5 });
  const behind = new Map<string, number | 'missing'>();
  const store = new JsonStore<{ phase: string; claim?: string }>(
    laggingReplica(kv, behind),
    'Thing',
    bucketStream(nc, 'json_store_lagging'),
  );
  // A claim: a repeat of the claim that made the thing Running changes nothing; once Complete, it is refused.
  const claim = (v: { phase: string; claim?: string }) => {
    if (v.phase === 'Complete') throw new Error('already complete');
    return v.phase === 'Running' && v.claim === 'c1' ? undefined : { phase: 'Running', claim: 'c1' };
  };

  // The writes the replica is behind on come from elsewhere (another coordinator): a store's
  // own writes it reads back from the leader (the next test).
  const other = new JsonStore<{ phase: string; claim?: string }>(kv, 'Thing', bucketStream(nc, 'json_store_lagging'));
  const running = await other.create('a.build', { phase: 'Running', claim: 'c1' });
  const complete = await other.update('a.build', { phase: 'Complete', claim: 'c1' }, running);
  behind.set('a.build', running);
  t.is((await store.get('a.build'))!.revision, running, 'the replica answers get() from behind');
  t.deepEqual(await store.getLatest('a.build'), { value: { phase: 'Complete', claim: 'c1' }, revision: complete });
  await t.throwsAsync(
    store.mutate('a.build', claim),
    { message: 'already complete' },
    'the repeated claim is judged on the latest revision',
  );

  const created = await other.create('a.new', { phase: 'New' });
  behind.set('a.new', 'missing');
  t.is(await store.get('a.new'), undefined);
  const claimed = await store.mutate('a.new', claim);
  t.deepEqual(
    claimed,
    { value: { phase: 'Running', claim: 'c1' }, revision: created + 1 },
    'a key the replica does not have yet is found',
  );

  // Repeated on the latest revision, the claim changes nothing and writes nothing.
  behind.delete('a.new');
  t.deepEqual(await store.mutate('a.new', claim), claimed);
  t.is(await store.latestRevision(), created + 1);

  await store.delete('a.new', created + 1);
  t.is(await store.getLatest('a.new'), undefined, 'a deleted key has no latest value');
  t.is(await store.mutate('a.new', claim), undefined);
});

test('a store reads its own writes back through a replica that is behind them: gets, listings, snapshots, deletions', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('json_store_ryw', { storage: StorageType.File, history: 5 });
  const behind = new Map<string, number | 'missing'>();
  const lagging = laggingReplica(kv, behind);
  // keys() from the replica too: it has not got the keys marked missing yet.
  Object.assign(lagging, {
    keys: async (filter?: string) => {
      const all: string[] = [];
      for await (const k of await kv.keys(filter)) if (behind.get(k) !== 'missing') all.push(k);
      return (async function* () {
        yield* all;
      })();
    },
  });
  const stream = bucketStream(nc, 'json_store_ryw');
  const mine = new JsonStore<{ n: number }>(lagging, 'Thing', stream);
  const other = new JsonStore<{ n: number }>(lagging, 'Thing', stream);

  const made = await mine.create('a.mine', { n: 1 });
  behind.set('a.mine', 'missing');
  t.deepEqual(await mine.get('a.mine'), { value: { n: 1 }, revision: made }, 'a create is read back');
  t.is(await other.get('a.mine'), undefined, 'another writer’s reader may miss it (the replica is behind)');
  t.deepEqual(
    (await mine.list('a.*')).map((e) => e.value),
    [{ n: 1 }],
    'a listing names a key the replica does not list yet',
  );
  t.deepEqual((await mine.listPage({ filter: 'a.*', scope: 'a', size: 10, tokenField: 't' })).items, [
    { value: { n: 1 }, revision: made },
  ]);
  t.deepEqual(
    (await mine.snapshot('a.*')).items.map((e) => e.value),
    [{ n: 1 }],
  );

  const updated = await mine.update('a.mine', { n: 2 }, made);
  behind.set('a.mine', made);
  t.deepEqual(await mine.get('a.mine'), { value: { n: 2 }, revision: updated }, 'an update is read back');
  t.is((await other.get('a.mine'))!.revision, made);

  await mine.delete('a.mine', updated);
  behind.set('a.mine', updated);
  t.is(await mine.get('a.mine'), undefined, 'a deletion is read back');
  t.deepEqual(await mine.list('a.*'), []);
  t.is((await other.get('a.mine'))!.revision, updated);

  // Keys it did not write are read as the replica answers: no leader read for them.
  const theirs = await other.create('a.theirs', { n: 3 });
  behind.set('a.theirs', 'missing');
  t.is(await mine.get('a.theirs'), undefined);
  t.deepEqual(await other.get('a.theirs'), { value: { n: 3 }, revision: theirs });
});

test('the pages of one listing of a bucket no one writes meanwhile list its keys once; a write between pages lists them again', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('json_store_pages', { storage: StorageType.File, history: 5 });
  const stream = bucketStream(nc, 'json_store_pages');
  // Counts the key listings: stream infos that ask for the subjects.
  let keyListings = 0;
  const jetstreamManager = stream.js.jetstreamManager.bind(stream.js);
  stream.js.jetstreamManager = async (checkAPI?: boolean) => {
    const jsm = await jetstreamManager(checkAPI);
    const info = jsm.streams.info.bind(jsm.streams);
    jsm.streams.info = (name, opts) => {
      if (opts?.subjects_filter) keyListings++;
      return info(name, opts);
    };
    return jsm;
  };
  const store = new JsonStore<{ n: number }>(kv, 'Thing', stream);
  await Promise.all(Array.from({ length: 250 }, (_, i) => store.create(`a.k${i}`, { n: i })));

  const listAll = async (between?: (page: number) => Promise<unknown>) => {
    const names: string[] = [];
    let token: string | undefined;
    for (let page = 0; ; page++) {
      const p = await store.listPage({ filter: 'a.*', scope: 'a', size: 50, tokenField: 't', token });
      names.push(...p.items.map((i) => `k${i.value.n}`));
      if (!p.nextToken) return names;
      token = p.nextToken;
      await between?.(page);
    }
  };
  const first = await listAll();
  t.is(first.length, 250);
  t.is(new Set(first).size, 250, 'each key once');
  t.is(keyListings, 1, 'five pages, one key listing');

  keyListings = 0;
  const second = await listAll(async (page) => {
    if (page === 1) await store.create('a.k999', { n: 999 });
  });
  t.true(second.includes('k999'), 'a key created between pages that sorts after them is listed');
  t.is(new Set(second).size, 251);
  t.is(
    keyListings,
    1,
    'its first pages used the listing kept from before (nothing written since); listed again after the write, once',
  );
});
