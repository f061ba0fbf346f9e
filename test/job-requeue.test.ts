import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { LABELS } from '../agent/build-runner.js';
import { JOBS_CONSUMER, JOBS_STREAM } from '../common/nats/names.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { environmentDocker, recordDaemonEvents } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { addAgent, dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';

// Found by the chaos suite: on nats-server 2.9.10 at R3, repeated kill -9 of NATS nodes lost jobs
// from the work queue, or left them in the stream below the consumer's delivered sequence where
// no agent ever got them; those builds stayed Pending for ever. The controller now queues a new
// copy of a job unclaimed for SLIPWAY_REQUEUE_AFTER_MS that is not waiting its turn.

const unique = () => randomBytes(4).toString('hex');
const REQUEUE_AFTER_MS = 1000;

async function setUp(t: ExecutionContext, name: string) {
  const env = testEnvironment();
  const git = await startGitServer(t);
  // No agent yet: the job waits in the stream where the test can lose it.
  const sw = await startSlipway(t, { agents: 0, coordinator: { requeueAfterMs: REQUEUE_AFTER_MS } });
  const nc = await connect({ servers: sw.natsUrl });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const repo = await git.createRepo(name, { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} > /stamp\n` });
  await sw.client.createBuildConfig(dockerBuildConfig(name, repo.uri, `${env.registry}/test/${name}-${unique()}:v1`, { noCache: true }));
  await sw.client.startBuild({ namespace: 'default', configName: name });
  const queued = await until(() => sw.client.getBuild('default', `${name}-1`), (b) => !!b.status?.queuedTimestamp);
  return { sw, jsm, queued };
}

async function until(read: () => Promise<Build__Output>, done: (b: Build__Output) => boolean, timeoutMs = 30_000): Promise<Build__Output> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const b = await read();
    if (done(b)) return b;
    if (Date.now() > end) throw new Error(`build ${b.metadata?.name} never got there: ${JSON.stringify(b.status)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const requeued = (b: Build__Output) => b.status!.events.filter((e) => e.reason === 'Requeued');

async function messagesInQueue(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(JOBS_STREAM)).state.messages;
}

/** Adds an agent, waits for the build, and counts its executions on the daemon. */
async function runOnce(t: ExecutionContext, sw: Slipway, name: string) {
  const recording = await recordDaemonEvents(environmentDocker());
  await addAgent(t, sw);
  const final = await sw.client.waitForBuild('default', name, AbortSignal.timeout(60_000));
  // Let a second run, if one started, get as far as tagging its image.
  await new Promise((r) => setTimeout(r, 3000));
  const events = await recording.stop();
  const tags = events.filter((e) => e.type === 'image' && e.action === 'tag' && e.attributes[LABELS.build] === name);
  return { final, tags: tags.length };
}

test('a job gone from the work queue is queued again, and its build runs once', async (t) => {
  const { sw, jsm } = await setUp(t, 'lost');
  t.is(await messagesInQueue(jsm), 1);
  // Lost, as the stuck builds' jobs were.
  await jsm.streams.purge(JOBS_STREAM);

  const again = await until(() => sw.client.getBuild('default', 'lost-1'), (b) => requeued(b).length > 0);
  t.regex(requeued(again)[0]!.message, /attempt 1's job was gone from the work queue; queued again \(copy 2\)/);
  t.is(again.status!.phase, 'Pending');
  t.is(await messagesInQueue(jsm), 1, 'the new copy');

  const { final, tags } = await runOnce(t, sw, 'lost-1');
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(final.status!.attempt, 1);
  t.is(tags, 1, 'built once, counted on the daemon');
  t.is(requeued(final).length, 1, 'the new copy, once queued, waited its turn: not requeued again');
});

test('a job the consumer delivered past without it being claimed is queued again; the stale copy is removed', async (t) => {
  const { sw, jsm } = await setUp(t, 'stranded');
  // Delivered to something that is not an agent and never settles it: the consumer's delivered
  // sequence is past the job, which no agent will get for ten minutes.
  const nc = await connect({ servers: sw.natsUrl });
  t.teardown(() => nc.close());
  const consumer = await jetstream(nc).consumers.get(JOBS_STREAM, JOBS_CONSUMER);
  const taken = await consumer.next({ expires: 5000 });
  t.truthy(taken, 'the job was in the queue');
  taken!.nak(600_000);

  const again = await until(() => sw.client.getBuild('default', 'stranded-1'), (b) => requeued(b).length > 0);
  t.regex(requeued(again)[0]!.message, /was delivered by the work queue but unclaimed after \d+ s; queued again \(copy 2\)/);
  t.is(await messagesInQueue(jsm), 1, 'the stale copy was deleted; the new one is queued');

  const { final, tags } = await runOnce(t, sw, 'stranded-1');
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(tags, 1, 'built once, counted on the daemon');
  t.is(await messagesInQueue(jsm), 0, 'nothing left for a second run');
});

test('a job waiting its turn in the work queue is not queued again, however long it waits', async (t) => {
  const { sw, jsm } = await setUp(t, 'patient');
  // Several resyncs (every 2 s in tests) past the requeue time.
  await new Promise((r) => setTimeout(r, REQUEUE_AFTER_MS + 6000));
  const waiting = await sw.client.getBuild('default', 'patient-1');
  t.deepEqual(requeued(waiting), []);
  t.is(await messagesInQueue(jsm), 1);

  const { final, tags } = await runOnce(t, sw, 'patient-1');
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(tags, 1);
});
