import { randomBytes } from 'node:crypto';
import test from 'ava';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  agentConsumerName,
  agentJobSubject,
  agentOfConsumerName,
  agentOfSlotKey,
  agentSlotKey,
  JOBS_STREAM,
} from '../common/nats/names.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';

// Each agent's job queue (placement, #12) is its own: its subject and its consumer's name come
// from its name, and no two agent names may meet there. Agent names may hold '.' and '_'.

const unique = () => randomBytes(4).toString('hex');

test('agent names that differ only by "." and "_" get subjects and consumers of their own', (t) => {
  t.not(agentConsumerName('pool.a'), agentConsumerName('pool_a'));
  t.not(agentJobSubject('pool.a'), agentJobSubject('pool_a'));
  t.not(agentJobSubject('pool.a', 'default', 'app-1'), agentJobSubject('pool_a', 'default', 'app-1'));
  // Still one subject token, and a consumer name without a dot.
  t.is(agentJobSubject('pool.a', 'default', 'app-1').split('.').length, 5);
  t.false(agentConsumerName('a.b.c').includes('.'));
  // Slot keys: their own per agent, and valid KV keys (letters, digits and -/_=. only).
  t.not(agentSlotKey('pool.a', 0), agentSlotKey('pool_a', 0));
  for (const name of ['pool.a', 'pool_a', 'node-1.zone-b.example'])
    t.regex(agentSlotKey(name, 3), /^[-/_=.a-zA-Z0-9]+$/);
  // Read back by agent retention, to find what an agent with no record left behind.
  for (const name of ['pool.a', 'pool_a', 'node-1.zone-b.example']) {
    t.is(agentOfConsumerName(agentConsumerName(name)), name);
    t.is(agentOfSlotKey(agentSlotKey(name, 12)), name);
  }
  t.is(agentOfConsumerName('slipway-agents'), undefined, "the legacy shared consumer is no agent's");
  t.is(agentOfSlotKey('pool.a'), undefined);
});

test.serial(
  'agents "pool.a" and "pool_a": every build placed on pool.a runs there; pool_a never takes and drops its job',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    // A job taken by the wrong agent would be refused at its claim and acked away; with a placement
    // timeout this long, nothing places the build again within the test: it would never end.
    const sw = await startSlipway(t, { agents: 0, coordinator: { placementTimeoutMs: 600_000 } });
    await addAgent(t, sw, { settings: { name: 'pool.a', nodeLabels: { pool: 'a' } } });
    await addAgent(t, sw, { settings: { name: 'pool_a' } });

    const repo = await git.createRepo('queues', { Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N\n` });
    const c = dockerBuildConfig('queues', repo.uri, `${env.registry}/test/queues-${unique()}:v1`, {
      buildArgs: [{ name: 'N', value: unique() }],
    });
    c.spec!.nodeSelector = { pool: 'a' };
    await sw.client.createBuildConfig(c);
    // Both agents pull all along: with one shared queue each job would go to either, about half to pool_a.
    for (let i = 1; i <= 6; i++) {
      const name = (await sw.client.startBuild({ namespace: 'default', configName: 'queues' })).metadata!.name;
      const b = await sw.client.waitForBuild('default', name, AbortSignal.timeout(60_000));
      t.is(b.status!.phase, 'Complete', `${name}: ${b.status!.message}`);
      t.is(b.status!.agent, 'pool.a', name);
    }

    // Two consumers, each taking only its own agent's subjects.
    const nc = await connect({ servers: sw.natsUrl });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const filters = new Map<string, string | undefined>();
    for await (const ci of jsm.consumers.list(JOBS_STREAM)) filters.set(ci.name, ci.config.filter_subject);
    t.is(filters.get(agentConsumerName('pool.a')), agentJobSubject('pool.a'));
    t.is(filters.get(agentConsumerName('pool_a')), agentJobSubject('pool_a'));
  },
);
