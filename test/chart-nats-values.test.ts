import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { parseDocument } from 'yaml';
import { ROOT } from './helpers/chart.js';

/**
 * charts/nats-values.yaml, the values for the official NATS chart that Slipway's state needs:
 * JetStream on file storage on a PVC, three servers (so nats.streamReplicas: 3 gives R3), every
 * write synced before it is acknowledged, and the server version production needs said where a
 * platform team reads it. The NATS chart itself cannot be fetched here: the keys are the ones its
 * values.yaml declares (config.cluster, config.jetstream.fileStore.pvc, config.jetstream.merge).
 */

const FILE = path.join(ROOT, 'charts/nats-values.yaml');

type NatsValues = {
  config: {
    cluster: { enabled: boolean; replicas: number };
    jetstream: {
      enabled: boolean;
      fileStore: { enabled: boolean; dir: string; pvc: { enabled: boolean; size: string } };
      memoryStore: { enabled: boolean };
      merge: Record<string, unknown>;
    };
  };
};

test('the NATS values file parses and asks for JetStream on a PVC, three servers and every write synced', async (t) => {
  const text = await readFile(FILE, 'utf8');
  const doc = parseDocument(text);
  t.deepEqual(doc.errors, []);
  const values = doc.toJS() as NatsValues;
  t.deepEqual(Object.keys(values), ['config'], 'only the NATS chart’s server config');
  t.like(values.config.cluster, { enabled: true, replicas: 3 });
  const js = values.config.jetstream;
  t.true(js.enabled);
  t.like(js.fileStore, { enabled: true, pvc: { enabled: true } });
  t.regex(js.fileStore.pvc.size, /^\d+(Gi|Ti)$/);
  t.false(js.memoryStore.enabled, 'state on disk, not in memory');
  t.deepEqual(js.merge, { sync_interval: 'always' });
});

test('the NATS values file says which nats-server production needs, why, and how Slipway is pointed at it', async (t) => {
  const text = await readFile(FILE, 'utf8');
  t.regex(text, />= 2\.10\.23/);
  t.regex(text, /Jepsen/);
  t.regex(text, /helm install nats nats\/nats .*-f charts\/nats-values\.yaml/);
  t.regex(text, /nats\.streamReplicas=3/);
  const deploying = await readFile(path.join(ROOT, 'docs/deploying.md'), 'utf8');
  t.regex(deploying, /helm install nats nats\/nats [^\n]*-f charts\/nats-values\.yaml/);
  t.regex(deploying, /nats\.streamReplicas=3/);
});
