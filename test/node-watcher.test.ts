import test from 'ava';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError, loadKubeConfig, NodeWatcher, type NodeState } from '../agent/kubernetes/node-watcher.js';
import { silentLogger } from '../common/log.js';
import { FakeKubernetesApi } from './helpers/fake-kube-api.js';
import { eventually } from './helpers/eventually.js';

/** Starts a watcher of `node` on the fake API; resolves `next(pred)` when a state matches. */
function watch(t: { teardown(fn: () => unknown): void }, api: FakeKubernetesApi, node: string) {
  const seen: (NodeState | undefined)[] = [];
  const waiters: { pred: (s: NodeState | undefined) => boolean; resolve: () => void }[] = [];
  const watcher = new NodeWatcher({
    kubeConfig: loadKubeConfig(api.kubeconfigPath),
    node,
    log: silentLogger,
    retryBaseMs: 50,
    retryMaxMs: 200,
    onChange: (s) => {
      seen.push(s);
      for (const w of waiters.filter((w) => w.pred(s))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
  });
  watcher.start();
  t.teardown(() => watcher.stop());
  const next = (pred: (s: NodeState | undefined) => boolean, what: string) =>
    pred(watcher.current)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`timed out waiting for: ${what}; seen ${JSON.stringify(seen)}`)),
            10_000,
          );
          waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
        });
  return { watcher, seen, next };
}

test('the node watcher follows cordon and labels of its one node, through dropped watches and a 410', async (t) => {
  const api = await FakeKubernetesApi.start(t);
  api.addNode('node-a', { disk: 'ssd' });
  api.addNode('node-b', { disk: 'hdd' });
  const { watcher, next } = watch(t, api, 'node-a');

  await next((s) => s?.labels.disk === 'ssd' && !s.unschedulable, 'the first list');
  api.cordon('node-a');
  await next((s) => s?.unschedulable === true, 'cordoned');
  api.label('node-b', { disk: 'nvme' }); // another node: nothing changes here
  api.label('node-a', { zone: 'z1', disk: undefined });
  await next((s) => s?.labels.zone === 'z1' && s.labels.disk === undefined, 'relabelled');
  t.true(watcher.current!.unschedulable);
  t.is(watcher.current!.labels['kubernetes.io/hostname'], 'node-a');
  // Only the one node was ever asked for.
  t.true(
    api.requests.every((r) => r.includes('fieldSelector=metadata.name%3Dnode-a')),
    api.requests.join('\n'),
  );

  // The connection is cut; a change made meanwhile still arrives (watched again from its resourceVersion).
  api.closeWatches();
  api.uncordon('node-a');
  await next((s) => s?.unschedulable === false, 'uncordoned after a dropped watch');

  // The history is compacted and the watch cut: resuming gets 410 Gone, so it lists again.
  const lists = () => api.requests.filter((r) => !r.includes('watch=true')).length;
  const listsBefore = lists();
  api.compact();
  api.closeWatches();
  api.cordon('node-a');
  await next((s) => s?.unschedulable === true, 'cordoned after a 410');
  t.true(lists() > listsBefore, 'listed again after 410 Gone');

  api.deleteNode('node-a');
  await next((s) => s === undefined, 'the node deleted');
  api.addNode('node-a', { disk: 'ssd' });
  await next((s) => s?.labels.disk === 'ssd' && !s.unschedulable, 'the node back');
});

test('the node watcher keeps trying when the API refuses it, and knows nothing meanwhile', async (t) => {
  const api = await FakeKubernetesApi.start(t);
  api.addNode('node-a');
  const good = loadKubeConfig(api.kubeconfigPath);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: good.clusters,
    contexts: good.contexts,
    currentContext: good.currentContext,
    users: [{ name: 'fake', token: 'wrong' }],
  });
  const watcher = new NodeWatcher({
    kubeConfig: kc,
    node: 'node-a',
    log: silentLogger,
    retryBaseMs: 50,
    retryMaxMs: 100,
    onChange: () => undefined,
  });
  watcher.start();
  t.teardown(() => watcher.stop());
  await eventually('three tries', () => api.requests.length >= 3, {
    timeoutMs: 10_000,
    detail: () => api.requests.length,
  });
  t.is(watcher.current, undefined);
  t.true(api.requests.length >= 3, `retried: ${api.requests.length}`);
});

test('a kubeconfig that cannot be loaded, or no in-cluster config, is a KubeConfigError', (t) => {
  t.throws(() => loadKubeConfig('/nonexistent/kubeconfig'), {
    instanceOf: KubeConfigError,
    message: /\/nonexistent\/kubeconfig/,
  });
  t.throws(() => loadKubeConfig('', {}), { instanceOf: KubeConfigError, message: /not running in a Kubernetes Pod/ });
});
