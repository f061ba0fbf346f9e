import test from 'ava';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { BenchmarkNoopExecutor } from '../agent/executors/benchmark-noop-executor.js';
import { randomUUID } from 'node:crypto';
import type { Build, BuildConfig } from '../api/types.js';
import { BUILDCONFIGS_BUCKET, BUILDS_BUCKET } from '../common/nats/names.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { eventually } from './helpers/eventually.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';

/**
 * Rounds, each of BURST builds started at once (split over the two coordinators) while none
 * runs, and one more whose number is taken first and whose create lands last.
 */
const ROUNDS = 12;
const BURST = 4;
const BUILDS = ROUNDS * (BURST + 1);

/**
 * Every revision the Build bucket takes for `config`'s builds, in bucket order, from before the
 * first build exists: the history a reader of the bucket would see.
 */
async function recordHistory(
  t: Parameters<typeof startSlipway>[0],
  natsUrl: string,
  config: string,
): Promise<{ history: Build[]; stop: () => void }> {
  const nc = await connect({ servers: natsUrl });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).open(BUILDS_BUCKET);
  const watcher = await kv.watch({ key: 'default.>' });
  const history: Build[] = [];
  void (async () => {
    for await (const e of watcher) {
      if (e.operation !== 'PUT') continue;
      const b = e.json<Build>();
      if (b.spec.configName === config) history.push(b);
    }
  })();
  return { history, stop: () => watcher.stop() };
}

/**
 * What a third coordinator does when it is slow between StartBuild's two writes (a GC pause, a
 * lost packet): it takes number n by compare-and-set on the config now, and `create` makes build
 * n later, after builds n+1, n+2… of the other coordinators exist.
 */
async function slowStartBuild(
  t: Parameters<typeof startSlipway>[0],
  natsUrl: string,
  config: string,
): Promise<{ name: string; create: (like: Build) => Promise<void> }> {
  const nc = await connect({ servers: natsUrl });
  t.teardown(() => nc.close());
  const kvm = new Kvm(nc);
  const configs = await kvm.open(BUILDCONFIGS_BUCKET);
  const builds = await kvm.open(BUILDS_BUCKET);
  for (;;) {
    const entry = (await configs.get(`default.${config}`))!;
    const c = entry.json<BuildConfig>();
    const n = c.status.lastVersion + 1;
    const next = { ...c, status: { ...c.status, lastVersion: n } };
    try {
      await configs.update(`default.${config}`, JSON.stringify(next), entry.revision);
    } catch {
      continue;
    }
    const name = `${config}-${n}`;
    return {
      name,
      create: async (like) => {
        const build: Build = {
          ...like,
          metadata: { ...like.metadata, name, uid: randomUUID(), creationTimestamp: new Date().toISOString() },
          status: { phase: 'New', attempt: 0 },
        };
        await builds.create(`default.${name}`, JSON.stringify(build));
      },
    };
  }
}

/** The config bucket's writes since this was called (its stream's last sequence). */
async function configRevision(t: Parameters<typeof startSlipway>[0], natsUrl: string): Promise<() => Promise<number>> {
  const nc = await connect({ servers: natsUrl });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).open(BUILDCONFIGS_BUCKET);
  const last = async () => (await kv.status()).streamInfo.state.last_seq;
  const start = await last();
  return async () => (await last()) - start;
}

const number = (b: Build) => Number(b.metadata.name.slice(b.metadata.name.lastIndexOf('-') + 1));

for (const policy of ['Serial', 'SerialLatestOnly'] as const) {
  test.serial(
    `${policy} across two coordinators: ${ROUNDS} bursts of ${BURST} StartBuilds never run two builds of the config together`,
    async (t) => {
      // Room for every build at once on two agents: only the run policy keeps them apart. No-op
      // builds, so the race between the two coordinators' controllers is all there is.
      const sw = await startSlipway(t, { coordinators: 2, agents: 0 });
      const executors = [new BenchmarkNoopExecutor(), new BenchmarkNoopExecutor()];
      for (const executor of executors) await addAgent(t, sw, { concurrency: BUILDS, executor });
      const git = await startGitServer(t);
      const name = policy.toLowerCase();
      const repo = await git.createRepo(name, { Dockerfile: `FROM ${testEnvironment().baseImage}\n` });
      const config = dockerBuildConfig(name, repo.uri, `${testEnvironment().registry}/test/${name}:v1`);
      config.spec!.runPolicy = policy;
      await sw.client.createBuildConfig(config);
      const { history, stop } = await recordHistory(t, sw.natsUrl, name);
      const configWrites = await configRevision(t, sw.natsUrl);

      // The gap is at a config with nothing running: two creates landing out of number order,
      // seen at different moments by the two coordinators. So many small bursts, each at idle.
      const finals: Awaited<ReturnType<typeof sw.client.waitForBuild>>[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const slow = await slowStartBuild(t, sw.natsUrl, name);
        const started = await Promise.all(
          Array.from({ length: BURST }, (_, i) =>
            sw.clientOf(i % 2).startBuild({ namespace: 'default', configName: name }),
          ),
        );
        const like = history.find((b) => b.metadata.name === started[0]!.metadata!.name)!;
        await new Promise((r) => setTimeout(r, 100));
        await slow.create(like);
        const names = [slow.name, ...started.map((b) => b.metadata!.name)].sort((a, b) =>
          a.localeCompare(b, 'en', { numeric: true }),
        );
        finals.push(
          ...(await Promise.all(names.map((n) => sw.client.waitForBuild('default', n, AbortSignal.timeout(60_000))))),
        );
      }
      stop();
      // What the policy costs: StartBuild's compare-and-set on the config, and the run slot's.
      t.log(`config writes per build: ${((await configWrites()) / BUILDS).toFixed(2)}`);

      // Replay the bucket's history: the builds past New and not ended, at every revision.
      const active = new Map<string, number>();
      let most = 0;
      const startOrder: number[] = [];
      for (const b of history) {
        const phase = b.status.phase;
        if (phase === 'Pending' || phase === 'Running') {
          if (!active.has(b.metadata.name)) startOrder.push(number(b));
          active.set(b.metadata.name, number(b));
        } else active.delete(b.metadata.name);
        if (active.size > most) {
          most = active.size;
          if (most > 1) t.log(`at once: ${[...active.keys()].join(', ')}`);
        }
      }
      t.is(most, 1, 'one build of the config past New at a time');

      const ran = finals.filter((b) => b.status!.phase === 'Complete');
      for (const b of ran) t.is(b.status!.attempt, 1, `${b.metadata!.name} ran once`);
      if (policy === 'Serial') {
        t.is(ran.length, BUILDS, 'every build ran');
        t.deepEqual(
          startOrder,
          [...startOrder].sort((a, b) => a - b),
          'builds started in number order',
        );
      } else {
        for (const b of finals) t.true(['Complete', 'Cancelled'].includes(b.status!.phase), b.metadata!.name);
        t.is(finals[finals.length - 1]!.status!.phase, 'Complete', 'the newest build of the last burst ran');
        for (const b of finals.filter((f) => f.status!.phase === 'Cancelled')) {
          t.is(b.status!.reason, 'Superseded', b.metadata!.name);
          t.is(b.status!.attempt, 0, `${b.metadata!.name} never ran`);
        }
      }
      // The agents ran each attempt they were given once.
      for (const e of executors) for (const [k, n] of e.runtime.runs) t.is(n, 1, `${k} ran once`);
    },
  );
}

test.serial(
  'Serial: a build that took the run slot and stayed New (its coordinator died between the two writes) runs, then an older one created late',
  async (t) => {
    // No agent yet: held-1 stays Pending, and the builds made below wait for it.
    const sw = await startSlipway(t, { coordinators: 2, agents: 0 });
    const git = await startGitServer(t);
    const repo = await git.createRepo('held', { Dockerfile: `FROM ${testEnvironment().baseImage}\n` });
    const config = dockerBuildConfig('held', repo.uri, `${testEnvironment().registry}/test/held:v1`);
    config.spec!.runPolicy = 'Serial';
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'held' });
    await eventually(
      'held-1 Pending',
      async () => (await sw.client.getBuild('default', 'held-1')).status!.phase === 'Pending',
    );

    // What a coordinator leaves when it dies after taking numbers 2 and 3 (two StartBuilds) and,
    // once held-1 has ended, the slot for held-3, before held-3 left New; held-2's create lands
    // after held-3's.
    const nc = await connect({ servers: sw.natsUrl });
    t.teardown(() => nc.close());
    const kvm = new Kvm(nc);
    const configs = await kvm.open(BUILDCONFIGS_BUCKET);
    const builds = await kvm.open(BUILDS_BUCKET);
    const like = (await builds.get('default.held-1'))!.json<Build>();
    const make = (name: string): Build => ({
      ...like,
      metadata: { ...like.metadata, name, uid: randomUUID(), creationTimestamp: new Date().toISOString() },
      status: { phase: 'New', attempt: 0 },
    });
    const entry = (await configs.get('default.held'))!;
    const c = entry.json<BuildConfig>();
    await configs.update(
      'default.held',
      JSON.stringify({ ...c, status: { ...c.status, lastVersion: 3 } }),
      entry.revision,
    );
    await builds.create('default.held-3', JSON.stringify(make('held-3')));
    await builds.create('default.held-2', JSON.stringify(make('held-2')));
    await eventually(
      'held-2 waiting',
      async () => (await sw.client.getBuild('default', 'held-2')).status!.reason === 'WaitingForPreviousBuild',
    );
    const now = (await configs.get('default.held'))!;
    const held = now.json<BuildConfig>();
    const status = { ...held.status, runSlot: { build: 'held-3', number: 3 } };
    await configs.update('default.held', JSON.stringify({ ...held, status }), now.revision);
    await sw.client.cancelBuild('default', 'held-1');
    await addAgent(t, sw, { concurrency: 4, executor: new BenchmarkNoopExecutor() });

    const [two, three] = await Promise.all(
      ['held-2', 'held-3'].map((n) => sw.client.waitForBuild('default', n, AbortSignal.timeout(20_000))),
    );
    t.is(three!.status!.phase, 'Complete', 'held-3, which holds the slot, ran');
    t.is(two!.status!.phase, 'Complete', 'held-2 ran after it');
    t.true(
      new Date(two!.status!.startTimestamp!).getTime() >= new Date(three!.status!.completionTimestamp!).getTime(),
      'one at a time',
    );
  },
);
