import test from 'ava';
import { jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  agentJobConsumer,
  defaultJobStreamOptions,
  ensureAgentJobConsumer,
  ensureJobStream,
  publishJob,
} from '../common/nats/jobs.js';
import { agentConsumerName, agentJobSubject, JOBS_STREAM, objectKey } from '../common/nats/names.js';
import { AgentRegistry } from '../coordinator/agents/agent-registry.js';
import type { Build } from '../api/types.js';
import { testEnvironment } from './helpers/environment.js';
import { eventually } from './helpers/eventually.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';
import type { Teardowns } from './helpers/teardowns.js';

// Issue #25, part 4: a build whose job was lost (a NATS node died with it, or the coordinator died
// between its write and its publish) or was delivered to a run of the agent that then died waited
// out the 30 s placement timeout, the bulk of the chaos suite's p99. Once its agent heartbeats
// SLIPWAY_PLACEMENT_CHECK_MS after the placement without having claimed it, its job is looked
// for, and a lost one is placed again then.
//
// While the work queue takes no job at all, builds are placed anyway and their agents claim them
// from their heartbeat answers (SLIPWAY_PLACEMENT_REMIND_MS): the last test, with a real agent.
//
// The agent here is driven by hand (heartbeats written to the agents bucket, its queue pulled
// from the test), on a real coordinator and NATS: so a job can be kept waiting, lost, or
// delivered to a run that then "restarts", at will. The placement timeout is ten minutes: only
// the early check can place a build again within the test.

const CHECK_MS = 1000;

/** An agent that heartbeats (every 300 ms) as run `instance` and claims nothing. */
function handDrivenAgent(t: Teardowns, sw: Slipway, name: string) {
  const registry = new AgentRegistry(sw.coordinators[0]!.store.agents, () => new Date());
  let instance = 'run-1';
  const beat = () =>
    registry.heartbeat({
      agent: name,
      node: `node-of-${name}`,
      instance,
      running: [],
      nodeLabels: {},
      cordoned: false,
      capacity: 1,
    });
  const timer = setInterval(() => void beat().catch(() => undefined), 300);
  t.teardown(() => clearInterval(timer));
  return {
    beat,
    /** The agent "restarts": its heartbeats carry a new run id from now on. */
    restart: () => (instance = 'run-2'),
  };
}

/** The build as stored (placements are not in the API's view of it). */
async function stored(sw: Slipway, name: string): Promise<Build> {
  return (await sw.coordinators[0]!.store.builds.get(objectKey('default', name)))!.value;
}

/** Starts a build and waits until it is placed on `agent`. */
async function placedBuild(t: Teardowns, sw: Slipway, agent: string): Promise<Build> {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const repo = await git.createRepo('lost', { Dockerfile: `FROM ${env.baseImage}\n` });
  await sw.client.createBuildConfig(dockerBuildConfig('lost', repo.uri, `${env.registry}/test/lost:v1`));
  const name = (await sw.client.startBuild({ namespace: 'default', configName: 'lost' })).metadata!.name;
  return eventually(`${name} placed on ${agent}`, async () => {
    const b = await stored(sw, name);
    return b.status.placement?.agent === agent ? b : undefined;
  });
}

/** A coordinator whose placement timeout is ten minutes, the hand-driven agent, and a build placed on it. */
async function placedOnHandDrivenAgent(t: Teardowns) {
  const sw = await startSlipway(t, {
    agents: 0,
    coordinator: { placementTimeoutMs: 600_000, placementCheckMs: CHECK_MS },
  });
  const agent = handDrivenAgent(t, sw, 'hand');
  await agent.beat();
  return { sw, agent, b: await placedBuild(t, sw, 'hand') };
}

const placements = async (sw: Slipway, b: Build) => (await stored(sw, b.metadata.name)).status.placements;
const unplaced = async (sw: Slipway, b: Build) =>
  (await stored(sw, b.metadata.name)).status.events?.filter((e) => e.reason === 'Unplaced') ?? [];

test.serial(
  'a placed job lost from the work queue is placed again once its agent heartbeats past the check; a job waiting its turn is left',
  async (t) => {
    const { sw, b } = await placedOnHandDrivenAgent(t);
    t.is(b.status.placements, 1);

    // Waiting in the queue (the agent has not pulled): looked for, and left where it is.
    await new Promise((r) => setTimeout(r, 4 * CHECK_MS + 5000));
    t.is(await placements(sw, b), 1, 'a job waiting its turn is not placed again');

    // Lost: deleted from the stream, as a NATS node's death can lose it.
    const nc = await connect({ servers: sw.natsUrl });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const subject = agentJobSubject('hand', 'default', b.metadata.name);
    const job = await jsm.streams.getMessage(JOBS_STREAM, { last_by_subj: subject });
    t.truthy(job, 'the placement queued a job');
    await jsm.streams.deleteMessage(JOBS_STREAM, job!.seq);
    const lostAt = Date.now();
    await eventually('the build placed again', async () => (await placements(sw, b)) === 2, { timeoutMs: 20_000 });
    t.log(`placed again ${Date.now() - lostAt} ms after its job was lost (the placement timeout: 600 s)`);
    const events = await unplaced(sw, b);
    t.is(events.length, 1);
    t.regex(events[0]!.message, /its job was gone from the work queue after \d+ s unclaimed/);
    // The new placement's job is queued.
    const again = await jsm.streams.getMessage(JOBS_STREAM, { last_by_subj: subject });
    t.is((JSON.parse(again!.string()) as { placement: number }).placement, 2);
  },
);

test.serial(
  'a job delivered to a run of the agent that then restarted is placed again at once; delivered to the run that heartbeats, it is left to that run',
  async (t) => {
    const { sw, agent, b } = await placedOnHandDrivenAgent(t);

    // Run 1 takes the job and neither claims nor acks it (it is claiming, or about to die).
    const nc = await connect({ servers: sw.natsUrl });
    t.teardown(() => nc.close());
    const consumer = await agentJobConsumer(nc, 'hand');
    const delivered: JsMsg | null = await consumer.next({ expires: 5000 });
    t.truthy(delivered, 'the job was delivered');
    t.is((JSON.parse(delivered!.string()) as { build: string }).build, b.metadata.name);
    await new Promise((r) => setTimeout(r, 4 * CHECK_MS + 5000));
    t.is(await placements(sw, b), 1, 'delivered to the run that heartbeats: left to it');

    // Run 1 dies unacked: JetStream would deliver the job again only after ack_wait (15 s).
    agent.restart();
    await agent.beat();
    const restartedAt = Date.now();
    await eventually('the build placed again', async () => (await placements(sw, b)) === 2, { timeoutMs: 12_000 });
    t.log(`placed again ${Date.now() - restartedAt} ms after the agent's restart`);
    const events = await unplaced(sw, b);
    t.is(events.length, 1);
    t.regex(events[0]!.message, /delivered to a run of agent hand that has since restarted/);
    // Run 2 gets the new placement's job.
    const next = await consumer.next({ expires: 5000 });
    t.is((JSON.parse(next!.string()) as { placement: number }).placement, 2);
  },
);

test.serial(
  "while the work queue takes no job, builds are still placed, and their agent claims them from its heartbeat's answer: each runs once, placed once, also when their jobs turn up later",
  async (t) => {
    const sw = await startSlipway(t, {
      agents: 1,
      coordinator: { placementTimeoutMs: 600_000, placementCheckMs: 5000, placementRemindMs: 500 },
    });
    const agent = sw.agents[0]!;
    // The work queue gone (as when JetStream refuses publishes while it elects a leader): every
    // publish fails, and the agent's pulls find nothing; the buckets work.
    const nc = await connect({ servers: sw.natsUrl });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(JOBS_STREAM);
    const env = testEnvironment();
    const git = await startGitServer(t);
    const repo = await git.createRepo('unqueued', { Dockerfile: `FROM ${env.baseImage}\nRUN sleep 2\n` });
    const config = dockerBuildConfig('unqueued', repo.uri, `${env.registry}/test/unqueued:v1`, { noCache: true });
    await sw.client.createBuildConfig(config);
    const started = Date.now();
    const names: string[] = [];
    for (let i = 0; i < 3; i++)
      names.push((await sw.client.startBuild({ namespace: 'default', configName: 'unqueued' })).metadata!.name);

    // The queue back while the first two run: a copy of every build's job turns up (its publish
    // landed after all, say), for the running ones and, later, for the one already run.
    const builds = await Promise.all(
      names.slice(0, 2).map((name) =>
        eventually(`${name} running`, async () => {
          const b = await stored(sw, name);
          return b.status.phase === 'Running' ? b : undefined;
        }),
      ),
    );
    await ensureJobStream(nc, defaultJobStreamOptions());
    await ensureAgentJobConsumer(nc, agent.config.name);
    const copy = (b: Build) =>
      publishJob(
        nc,
        {
          namespace: 'default',
          build: b.metadata.name,
          attempt: b.status.attempt,
          placement: b.status.placements ?? 1,
        },
        agent.config.name,
      );
    for (const b of builds) await copy(b);

    for (const name of names) {
      const done = await sw.client.waitForBuild('default', name, AbortSignal.timeout(90_000));
      t.is(done.status!.phase, 'Complete', `${name}: ${done.status!.message}`);
      const b = await stored(sw, name);
      t.is(b.status.placements, 1, `${name} placed once`);
      t.is(b.status.attempt, 1, `${name} had one attempt`);
      t.deepEqual(await unplaced(sw, { metadata: { name } } as Build), [], `${name} never taken back`);
    }
    t.log(`3 builds complete ${Date.now() - started} ms after they were started`);
    await copy(await stored(sw, names[0]!));
    // Every copy delivered and acked, none run: the agent ran three builds.
    await eventually('every job copy acked', async () => {
      const info = await jsm.consumers.info(JOBS_STREAM, agentConsumerName(agent.config.name));
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= 3;
    });
    const finished = await agent.metrics.registry.getSingleMetric('slipway_agent_builds_finished_total')!.get();
    t.is(
      finished.values.reduce((n, v) => n + v.value, 0),
      3,
      'each build ran once on the agent',
    );
  },
);
