import { randomBytes } from 'node:crypto';
import test from 'ava';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import type { Build } from '../api/types.js';
import { BUILDS_BUCKET, SLOTS_BUCKET } from '../common/nats/names.js';
import type { SlotHolder } from '../coordinator/placement/agent-slots.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

// Issue #21: what the dispatch path writes per build, read back from the Build bucket's own
// history on a real NATS server, with real builds.

const unique = () => randomBytes(4).toString('hex');

test.serial(
  'a build an idle agent can take is written four times: New, then queued and placed in one write, Running, Complete',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const repo = await git.createRepo('writes', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()}\n` });
    const sw = await startSlipway(t, { agents: 1 });
    await sw.client.createBuildConfig(dockerBuildConfig('writes', repo.uri, `${env.registry}/test/writes:${unique()}`));
    const started = await sw.client.startBuild({ namespace: 'default', configName: 'writes' });
    t.is(started.status!.phase, 'New');
    const done = await sw.client.waitForBuild('default', started.metadata!.name);
    t.is(done.status!.phase, 'Complete', done.status!.message);

    const nc = await connect({ servers: sw.natsUrl });
    t.teardown(() => nc.close());
    const kv = await new Kvm(nc).open(BUILDS_BUCKET);
    const revisions: Build['status'][] = [];
    for await (const e of await kv.history({ key: `default.${started.metadata!.name}` }))
      revisions.push((e.json() as Build).status);
    t.deepEqual(
      revisions.map((s) => s.phase),
      ['New', 'Pending', 'Running', 'Complete'],
    );
    const pending = revisions[1]!;
    t.truthy(pending.queuedTimestamp, 'queued in the write that made it Pending');
    t.is(pending.placement?.node, 'node-0', 'and placed in it too');
    t.deepEqual(
      pending.events?.map((e) => e.reason),
      ['Queued', 'Placed'],
    );
    // The agent's slot, taken by compare-and-set before the placement was written: one write more.
    const slots = await new Kvm(nc).open(SLOTS_BUCKET);
    const taken: string[] = [];
    for await (const e of await slots.history({ key: '>' })) taken.push(`${e.key} ${e.json<SlotHolder>().build}`);
    t.is(taken.length, 1, taken.join('; '));
    t.true(taken[0]!.startsWith('agent-0-') && taken[0]!.endsWith(`/0 default.${started.metadata!.name}`), taken[0]);
  },
);

test.serial(
  'StartBuilds of one config racing on two coordinators, each numbering through its own config cache, take every number once',
  async (t) => {
    const env = testEnvironment();
    const sw = await startSlipway(t, { coordinators: 2, agents: 0 });
    await sw.client.createBuildConfig(
      dockerBuildConfig('race', 'git://127.0.0.1/none.git', `${env.registry}/test/race:v`),
    );
    const started = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sw.clientOf(i % 2).startBuild({ namespace: 'default', configName: 'race' })),
    );
    const names = started.map((b) => b.metadata!.name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    t.deepEqual(
      names,
      Array.from({ length: 20 }, (_, i) => `race-${i + 1}`),
    );
    const config = await sw.clientOf(1).getBuildConfig('default', 'race');
    t.is(Number(config.status!.lastVersion), 20);
  },
);
