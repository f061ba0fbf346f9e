import test from 'ava';
import { Kvm } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { JsonStore } from '../coordinator/store/json-store.js';
import { startNatsServer } from './helpers/nats-server.js';

test('a listing taken while its keys are being written names each key once', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('json_store_test', { storage: StorageType.File, history: 5 });
  const store = new JsonStore<{ n: number }>(kv, 'Thing');
  const count = 400;
  const revisions = new Map<string, number>();
  for (let i = 0; i < count; i++) revisions.set(`default.thing-${i}`, await store.create(`default.thing-${i}`, { n: 0 }));

  // Keep rewriting every key while listing: a key written during a listing is seen again.
  let writing = true;
  const writer = (async () => {
    for (let round = 1; writing; round++) {
      await Promise.all(
        [...revisions.keys()].map(async (k) => revisions.set(k, await store.update(k, { n: round }, revisions.get(k)!))),
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
