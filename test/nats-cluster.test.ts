import test from 'ava';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../common/nats/connect.js';
import { startNatsCluster } from './helpers/nats-cluster.js';

test('the cluster helper: an R3 bucket takes writes while its leader is kill -9ed, and the restarted node catches up', async (t) => {
  const cluster = await startNatsCluster(t, { nodes: 3 });
  const nc = await connectNats({ servers: cluster.urls, name: 'helper-check' });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('helper_check', { replicas: 3 });
  t.is((await kv.status()).replicas, 3);
  await kv.put('a', '1');
  const leader = await cluster.streamLeader('KV_helper_check');
  t.truthy(leader);
  await leader!.kill();
  t.false(leader!.running);
  // A write during the election fails (no responders, a timeout) until a new leader is elected.
  let revision = 0;
  for (let i = 0; i < 300 && revision === 0; i++) revision = await kv.put('b', '2').catch(() => new Promise<number>((r) => setTimeout(() => r(0), 200)));
  t.true(revision > 0);
  const next = await cluster.streamLeader('KV_helper_check');
  t.truthy(next);
  t.not(next!.name, leader!.name);
  await leader!.restart();
  await cluster.waitForMetaLeader();
  t.true(leader!.running);
  t.is((await kv.get('b'))?.string(), '2');
});
