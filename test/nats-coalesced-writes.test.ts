import test from 'ava';
import { connectNats } from '../common/nats/connect.js';
import { isCoalescing } from '../common/nats/coalesced-writes.js';
import { startNatsServer } from './helpers/nats-server.js';

/** The connection's socket, as nats.js holds it (what coalesceWrites corks). */
const socketOf = (nc: object) =>
  (nc as { protocol: { transport: { socket: { writableCorked: number } } } }).protocol.transport.socket;

test('what a connection sends in one turn goes out in one write: corked from the first send until the turn ends, before and after a reconnect', async (t) => {
  const nats = await startNatsServer(t);
  const nc = await connectNats({ servers: nats.url, name: 'coalesce-test' });
  t.teardown(() => nc.close());
  const sub = await connectNats({ servers: nats.url, name: 'coalesce-sub' });
  t.teardown(() => sub.close());

  const check = async (round: string) => {
    t.true(isCoalescing(nc), `${round}: its transport coalesces`);
    let got = 0;
    const s = sub.subscribe(`coalesce.${round}`, { callback: () => void got++ });
    await sub.flush();
    t.is(socketOf(nc).writableCorked, 0, `${round}: nothing held before the turn's first send`);
    // 50 messages from 50 continuations of one turn (nats.js alone would write each).
    for (let i = 0; i < 50; i++) {
      nc.publish(`coalesce.${round}`, String(i));
      await Promise.resolve();
    }
    t.is(socketOf(nc).writableCorked, 1, `${round}: held until the turn ends`);
    await new Promise((r) => setImmediate(r));
    t.is(socketOf(nc).writableCorked, 0, `${round}: written when the turn ends`);
    await nc.flush();
    await sub.flush();
    t.is(got, 50, `${round}: every message arrived`);
    s.unsubscribe();
  };
  await check('first');

  // Both connections: the subscriber's too, or its subscribe and flush meet a connection still down.
  const reconnected = (c: typeof nc) =>
    (async () => {
      for await (const s of c.status()) if (s.type === 'reconnect') return;
    })();
  const both = Promise.all([reconnected(nc), reconnected(sub)]);
  await nats.restart({ downMs: 200 });
  await both;
  await check('reconnected');
});
