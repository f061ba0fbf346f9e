import test from 'ava';
import { connect } from '@nats-io/transport-node';
import type { Build, BuildConfig, BuildConfigStatus } from '../api/types.js';
import { BuildApi } from '../coordinator/builds/build-api.js';
import { PendingBuildSweeper } from '../coordinator/builds/pending-builds.js';
import { openStateStore, type StateStore } from '../coordinator/store/state-store.js';
import { silentLogger } from '../common/log.js';
import { startNatsServer } from './helpers/nats-server.js';
import type { Teardowns } from './helpers/teardowns.js';
import { eventually } from './helpers/eventually.js';

/**
 * A coordinator that dies after a trigger's build number is taken (with the trigger's event
 * recorded) and before the build is created. Played with the real store: the builds bucket's
 * create fails as the process dying would leave it, and nothing else is faked.
 */

async function store(t: Teardowns): Promise<StateStore> {
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  return openStateStore(nc, { replicas: 1, history: 5 });
}

/** The store, but the first `failures` build creates fail as if the coordinator died in them. */
function dyingOnCreate(s: StateStore, failures: number): StateStore {
  let left = failures;
  const builds = new Proxy(s.builds, {
    get(target, prop, receiver) {
      if (prop === 'createUnused') {
        return async (key: string, value: Build) => {
          if (left-- > 0) throw new Error('coordinator died before creating the build');
          return target.createUnused(key, value);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { ...s, builds };
}

const config = {
  metadata: { name: 'app', namespace: 'default' },
  spec: {
    source: { git: { uri: 'git://127.0.0.1/app.git', ref: 'main' } },
    strategy: { docker: {} },
    output: { image: '127.0.0.1:5000/app:latest' },
  },
};

/** A trigger's decide hook: record the event `id` unless it is recorded already. */
function once(id: string) {
  return (c: BuildConfig): BuildConfigStatus | undefined =>
    c.status.lastTriggeredGeneration === Number(id) ? undefined : { ...c.status, lastTriggeredGeneration: Number(id) };
}

test('a triggered build whose coordinator died before creating it is made by the sweeper, once, from its record', async (t) => {
  const s = await store(t);
  const dying = new BuildApi(dyingOnCreate(s, 1));
  await dying.createBuildConfig(config);
  const cause = { type: 'ConfigChange' as const, message: 'generation 7' };
  await t.throwsAsync(
    dying.startBuildIf({ namespace: 'default', configName: 'app', ref: 'feature', cause, decide: once('7') }),
    { message: /died/ },
  );

  const api = new BuildApi(s);
  // The event is recorded: asking again starts nothing, so without the sweeper it would be lost.
  t.is(await api.startBuildIf({ namespace: 'default', configName: 'app', cause, decide: once('7') }), undefined);
  t.deepEqual(await api.listBuilds({ namespace: 'default' }), []);
  const pending = (await api.getBuildConfig('default', 'app')).value.status.pendingBuilds;
  t.is(pending?.length, 1);

  const sweeper = new PendingBuildSweeper(api, { graceMs: 0, intervalMs: 50, log: silentLogger });
  const abort = new AbortController();
  const running = sweeper.run(abort.signal);
  t.teardown(() => abort.abort());
  await eventually(
    'no pending build',
    async () => (await api.getBuildConfig('default', 'app')).value.status.pendingBuilds === undefined,
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  abort.abort();
  await running;

  const builds = await api.listBuilds({ namespace: 'default' });
  t.is(builds.length, 1);
  const b = builds[0]!.value;
  t.is(b.metadata.name, 'app-1');
  t.is(b.metadata.uid, pending![0]!.uid);
  t.deepEqual(b.spec.triggeredBy, [cause]);
  t.is(b.spec.config.source.git?.ref, 'feature', "the trigger's own ref, kept in the record");
  t.is(b.status.phase, 'New');
});

test("when the sweeper makes a slow coordinator's build first, the slow one takes that build as its own: one build", async (t) => {
  const s = await store(t);
  const api = new BuildApi(s);
  await api.createBuildConfig(config);
  // The slow coordinator: its create waits until the sweeper has made the build.
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const slowBuilds = new Proxy(s.builds, {
    get(target, prop, receiver) {
      if (prop === 'createUnused') {
        return async (key: string, value: Build) => {
          await released;
          return target.createUnused(key, value);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const slow = new BuildApi({ ...s, builds: slowBuilds });
  const cause = { type: 'ConfigChange' as const, message: 'generation 3' };
  const starting = slow.startBuildIf({ namespace: 'default', configName: 'app', cause, decide: once('3') });
  await eventually(
    'one pending build',
    async () => ((await api.getBuildConfig('default', 'app')).value.status.pendingBuilds?.length ?? 0) === 1,
    { timeoutMs: 10_000, intervalMs: 50 },
  );

  const sweeper = new PendingBuildSweeper(api, { graceMs: 0, intervalMs: 50, log: silentLogger });
  const abort = new AbortController();
  const running = sweeper.run(abort.signal);
  t.teardown(() => abort.abort());
  await eventually('one build', async () => (await api.listBuilds({ namespace: 'default' })).length === 1, {
    timeoutMs: 10_000,
    intervalMs: 50,
  });
  release();
  const started = await starting;
  abort.abort();
  await running;

  const builds = await api.listBuilds({ namespace: 'default' });
  t.is(builds.length, 1, 'one build');
  t.is(started?.value.metadata.name, 'app-1');
  t.is(started?.value.metadata.uid, builds[0]!.value.metadata.uid);
  t.is((await api.getBuildConfig('default', 'app')).value.status.lastVersion, 1, 'no second number taken');
});

test('a pending record whose build exists is dropped by the next triggered start, without a sweeper', async (t) => {
  const s = await store(t);
  const api = new BuildApi(s);
  await api.createBuildConfig(config);
  await api.startBuildIf({ namespace: 'default', configName: 'app', decide: once('1') });
  t.deepEqual(
    (await api.getBuildConfig('default', 'app')).value.status.pendingBuilds?.map((p) => p.number),
    [1],
  );
  await api.startBuildIf({ namespace: 'default', configName: 'app', decide: once('2') });
  t.deepEqual(
    (await api.getBuildConfig('default', 'app')).value.status.pendingBuilds?.map((p) => p.number),
    [2],
  );
  // A manual start records nothing and leaves the trigger's record as it is.
  await api.startBuild({ namespace: 'default', configName: 'app' });
  t.deepEqual(
    (await api.getBuildConfig('default', 'app')).value.status.pendingBuilds?.map((p) => p.number),
    [2],
  );
  t.is((await api.listBuilds({ namespace: 'default' })).length, 3);
});
