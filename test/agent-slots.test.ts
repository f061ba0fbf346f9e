import { randomBytes } from 'node:crypto';
import test from 'ava';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { Build } from '../api/types.js';
import { BUILDS_BUCKET } from '../common/nats/names.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

// Issue #25: two coordinators placing at once could each give an agent its last slot. Observed
// in the Build bucket itself (its watch sees every revision in order): at no revision may an
// agent hold more builds placed on it or running on it than its concurrency.

// Tenants take turns by when each was last placed, as each coordinator's own history has it: two
// coordinators seeing one slot free at once (a build ended) may each pick another tenant's build.
const NAMESPACES = ['slots-a', 'slots-b', 'slots-c'];
const PER_NAMESPACE = 6;

/** The agent a build occupies at this state: placed on it, or running on it. */
function occupies(b: Build): string | undefined {
  if (b.status.phase === 'Pending') return b.status.placement?.agent;
  if (b.status.phase === 'Running') return b.status.agent;
  return undefined;
}

test('builds started on two coordinators at once never put more builds on an agent than its slots, and each completes once', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const repo = await git.createRepo('slots', {
    Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo ${randomBytes(4).toString('hex')}-$N && sleep 1\n`,
  });
  const sw = await startSlipway(t, { coordinators: 2, agents: 2, concurrency: 1 });
  // A config a build: builds of one config may be held back by its run policy.
  const configs: { namespace: string; name: string }[] = [];
  for (let i = 0; i < PER_NAMESPACE; i++)
    for (const namespace of NAMESPACES) configs.push({ namespace, name: `slots-${i}` });
  for (const [i, c] of configs.entries()) {
    const config = dockerBuildConfig(c.name, repo.uri, `${env.registry}/test/slots:b${i}`, {
      noCache: true,
      buildArgs: [{ name: 'N', value: String(i) }],
    });
    await sw.client.createBuildConfig({ ...config, metadata: { ...config.metadata, namespace: c.namespace } });
  }

  const nc = await connect({ servers: sw.natsUrl });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).open(BUILDS_BUCKET);
  const watch = await kv.watch({ include: 'updates' });
  const state = new Map<string, Build>();
  const running = new Map<string, number>();
  const completed = new Map<string, number>();
  let most = 0;
  const over: string[] = [];
  const observed = (async () => {
    for await (const e of watch) {
      if (e.operation !== 'PUT') continue;
      const b = e.json<Build>();
      const before = state.get(e.key);
      state.set(e.key, b);
      if (b.status.phase === 'Running' && before?.status.phase !== 'Running')
        running.set(e.key, (running.get(e.key) ?? 0) + 1);
      if (b.status.phase === 'Complete' && before?.status.phase !== 'Complete')
        completed.set(e.key, (completed.get(e.key) ?? 0) + 1);
      const load = new Map<string, string[]>();
      for (const [key, s] of state) {
        const agent = occupies(s);
        if (agent) load.set(agent, [...(load.get(agent) ?? []), `${key} ${s.status.phase}`]);
      }
      for (const [agent, held] of load) {
        most = Math.max(most, held.length);
        if (held.length > 1) over.push(`revision ${e.revision}: ${agent} holds ${held.join(', ')}`);
      }
    }
  })();

  const started = await Promise.all(
    configs.map((c, i) => sw.clientOf(i % 2).startBuild({ namespace: c.namespace, configName: c.name })),
  );
  const finals = await Promise.all(
    started.map((b) => sw.client.waitForBuild(b.metadata!.namespace, b.metadata!.name, AbortSignal.timeout(180_000))),
  );
  for (const b of finals) t.is(b.status!.phase, 'Complete', `${b.metadata!.name}: ${b.status!.message}`);
  const keys = started.map((b) => `${b.metadata!.namespace}.${b.metadata!.name}`);
  // Every revision up to each build's end has been seen once the watch has seen the ends.
  const until = Date.now() + 30_000;
  while (keys.some((k) => state.get(k)?.status.phase !== 'Complete') && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
  watch.stop();
  await observed;

  t.log(`most builds on one agent at one revision: ${most}`);
  t.deepEqual(over.slice(0, 5), [], `${over.length} revision(s) with an agent over its 1 slot`);
  t.is(most, 1, 'the agents were used');
  t.deepEqual(
    keys.map((k) => [k, running.get(k) ?? 0, completed.get(k) ?? 0]),
    keys.map((k) => [k, 1, 1]),
    'each build claimed once and completed once',
  );
});
