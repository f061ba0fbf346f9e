import test from 'ava';
import { jetstreamManager, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { AlreadyExistsError, ConflictError } from '../common/errors.js';
import { isNatsUnavailable } from '../common/grpc/status.js';
import { connectNats } from '../common/nats/connect.js';
import { StreamPublisher } from '../common/nats/stream-publisher.js';
import { bucketStream, JsonStore } from '../coordinator/store/json-store.js';
import { startNatsServer } from './helpers/nats-server.js';

test('each publish gets its own answer: sequences, a compare-and-set that lost, a duplicate id, no stream, no answer, a closed connection', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connectNats({ servers: nats.url, name: 'publisher-test' });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'PUB', subjects: ['pub.>'], storage: StorageType.File });
  const publisher = new StreamPublisher(nc, 300);

  // 300 at once, to 300 subjects: each answer is matched to its own publish.
  const acks = await Promise.all(Array.from({ length: 300 }, (_, i) => publisher.publish(`pub.k${i}`, `v${i}`)));
  t.deepEqual(new Set(acks.map((a) => a.seq)).size, 300, 'every publish stored once');
  for (const i of [0, 137, 299]) {
    const stored = await jsm.streams.getMessage('PUB', { seq: acks[i]!.seq });
    t.is(stored?.subject, `pub.k${i}`, `publish ${i}'s answer names its own message`);
    t.is(stored?.string(), `v${i}`);
  }

  const first = await publisher.publish('pub.cas', 'a', { expectedLastSubjectSequence: 0 });
  const lost = await t.throwsAsync(publisher.publish('pub.cas', 'b', { expectedLastSubjectSequence: 0 }), {
    instanceOf: JetStreamApiError,
  });
  t.is((lost as JetStreamApiError).code, 10071, 'wrong last sequence');
  const second = await publisher.publish('pub.cas', 'c', { expectedLastSubjectSequence: first.seq });
  t.true(second.seq > first.seq);

  const once = await publisher.publish('pub.dup', 'x', { msgId: 'same' });
  const again = await publisher.publish('pub.dup', 'x', { msgId: 'same' });
  t.false(once.duplicate);
  t.true(again.duplicate);
  t.is(again.seq, once.seq);

  // Each header as the stream stored it (the publisher hands nats.js their bytes, made itself).
  const marked = await publisher.publish('pub.h', 'x', {
    expectedLastSubjectSequence: 0,
    msgId: 'id-1',
    headers: { 'KV-Operation': 'DEL' },
  });
  const withHeaders = await jsm.streams.getMessage('PUB', { seq: marked.seq });
  t.is(withHeaders?.header.get('Nats-Expected-Last-Subject-Sequence'), '0');
  t.is(withHeaders?.header.get('Nats-Msg-Id'), 'id-1');
  t.is(withHeaders?.header.get('KV-Operation'), 'DEL');
  await t.throwsAsync(publisher.publish('pub.h', 'x', { headers: { 'Bad: name': 'v' } }), { message: /header name/ });
  await t.throwsAsync(publisher.publish('pub.h', 'x', { msgId: 'a\r\nb' }), { message: /line break/ });

  const none = await t.throwsAsync(publisher.publish('nostream.x', 'x'));
  t.true(isNatsUnavailable(none), `no stream: ${none?.name}`);

  // A subscriber that never answers: the publish ends after the publisher's timeout.
  const silent = nc.subscribe('silent.x', { callback: () => {} });
  await nc.flush();
  const unanswered = await t.throwsAsync(publisher.publish('silent.x', 'x'));
  t.is(unanswered?.name, 'TimeoutError');
  t.true(isNatsUnavailable(unanswered));
  t.is(publisher.unanswered, 0);
  silent.unsubscribe();

  const pending = publisher.publish('silent.never', 'x');
  nc.subscribe('silent.never', { callback: () => {} });
  await nc.close();
  const closed = await t.throwsAsync(pending);
  t.true(isNatsUnavailable(closed), `closed: ${closed?.name}`);
  t.is(publisher.unanswered, 0);
  await t.throwsAsync(publisher.publish('pub.k0', 'late'), { name: 'ClosedConnectionError' });
});

test("JsonStore's writes through the publisher: create, create over a deletion, update at a revision, and their refusals", async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connectNats({ servers: nats.url, name: 'publisher-store-test' });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('publisher_store', { storage: StorageType.File, history: 5 });
  const store = new JsonStore<{ n: number }>(kv, 'Thing', bucketStream(nc, 'publisher_store'));

  const made = await store.create('a.one', { n: 1 });
  await t.throwsAsync(store.create('a.one', { n: 2 }), { instanceOf: AlreadyExistsError });
  const updated = await store.update('a.one', { n: 3 }, made);
  await t.throwsAsync(store.update('a.one', { n: 4 }, made), { instanceOf: ConflictError });
  t.deepEqual(await store.get('a.one'), { value: { n: 3 }, revision: updated });

  await store.delete('a.one', updated);
  const remade = await store.create('a.one', { n: 5 });
  t.deepEqual(await store.get('a.one'), { value: { n: 5 }, revision: remade }, 'a create writes over a deletion');
  await t.throwsAsync(store.createUnused('a.one', { n: 6 }), { instanceOf: AlreadyExistsError });
  await t.throwsAsync(store.create('bad key', { n: 7 }), { message: /invalid key/ });
  t.is((await kv.get('a.one'))?.json<{ n: number }>().n, 5, 'the KV client reads what the publisher wrote');
});

test('a direct get answers the last message of a subject with its sequence and headers; none is null; no stream is unavailable', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connectNats({ servers: nats.url, name: 'direct-get-test' });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('direct_get', { storage: StorageType.File, history: 5 });
  t.true((kv as unknown as { direct: boolean }).direct, 'the bucket allows direct gets');
  const publisher = new StreamPublisher(nc);
  const first = await kv.put('a.x', 'one');
  const second = await kv.put('a.x', 'two');
  const got = await publisher.lastBySubject('KV_direct_get', '$KV.direct_get.a.x');
  t.is(got?.seq, second);
  t.true(second > first);
  t.is(Buffer.from(got!.data).toString(), 'two');
  t.is(got?.header('KV-Operation'), undefined);

  await kv.delete('a.x');
  t.is((await publisher.lastBySubject('KV_direct_get', '$KV.direct_get.a.x'))?.header('KV-Operation'), 'DEL');
  t.is(await publisher.lastBySubject('KV_direct_get', '$KV.direct_get.a.none'), null);
  // No stream: an answer of no responders or (no one answers on 2.9) none in time.
  const none = await t.throwsAsync(new StreamPublisher(nc, 300).lastBySubject('KV_nostream', '$KV.nostream.a.x'));
  t.true(isNatsUnavailable(none), `no stream: ${none?.name}`);

  // JsonStore reads through it: a value, a deleted key, and its own write handed back as written.
  const store = new JsonStore<{ n: number }>(kv, 'Thing', bucketStream(nc, 'direct_get'));
  const value = { n: 1 };
  const revision = await store.create('a.y', value);
  const read = await store.get('a.y');
  t.deepEqual(read, { value, revision });
  t.is(read?.value, value, 'its own write, not parsed again');
  await kv.put('a.z', JSON.stringify({ n: 2 }));
  t.deepEqual((await store.get('a.z'))?.value, { n: 2 }, 'written elsewhere: parsed');
  t.is(await store.get('a.x'), undefined, 'deleted');
  t.is(await store.get('a.none'), undefined, 'never written');
});
