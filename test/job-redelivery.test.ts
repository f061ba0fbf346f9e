import { randomBytes } from 'node:crypto';
import test from 'ava';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { LABELS } from '../agent/build-runner.js';
import { agentConsumerName, JOBS_STREAM } from '../common/nats/names.js';
import { nanos } from '../common/nats/streams.js';
import { environmentDocker, recordDaemonEvents } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startRunCounter } from './helpers/run-counter.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

// Found by the chaos suite (seed 2380586854: two builds' attempt 1 finished twice). When a NATS
// node dies, the job consumer can deliver a running job again; delivered to the same agent run,
// the claim has the same claim id, which the coordinator accepts as a repeat of a lost answer.
test('a job delivered again to the agent running its attempt does not run it a second time', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t, { agents: 0 });
  // The redelivery, made certain: an ack wait shorter than the agent's in-progress acks (every 5 s).
  const nc = await connect({ servers: sw.natsUrl });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const agent = await addAgent(t, sw, { concurrency: 2 });
  // The agent's consumer, made by the coordinator when it heartbeated (the agent waited for it).
  const consumer = agentConsumerName(agent.config.name);
  await jsm.consumers.update(JOBS_STREAM, consumer, { ack_wait: nanos(1000) });

  const counter = await startRunCounter(t);
  const repo = await git.createRepo('again', {
    Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN ${counter.command('again')} && echo $N && sleep 4\n`,
  });
  const repository = `test/again-${unique()}`;
  await sw.client.createBuildConfig(
    dockerBuildConfig('again', repo.uri, `${env.registry}/${repository}:v1`, {
      noCache: true,
      buildArgs: [{ name: 'N', value: unique() }],
    }),
  );
  const recording = await recordDaemonEvents(environmentDocker());
  await sw.client.startBuild({ namespace: 'default', configName: 'again' });
  const final = await sw.client.waitForBuild('default', 'again-1', AbortSignal.timeout(60_000));
  // Let a second run, if one started, get as far as tagging its image: time passing is what is
  // tested (that no second step or tag appears), there is no event to wait for.
  await new Promise((r) => setTimeout(r, 6000));
  const events = await recording.stop();

  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(final.status!.attempt, 1);
  const info = await jsm.consumers.info(JOBS_STREAM, consumer);
  // One job message; every delivery of it takes a consumer sequence.
  t.true(
    info.delivered.consumer_seq >= 2,
    `the job was delivered ${info.delivered.consumer_seq} time(s); the test needs it delivered again`,
  );
  // Counted on the daemon and at the counter: one tagged image for attempt 1, one RUN step.
  const tags = events.filter(
    (e) => e.type === 'image' && e.action === 'tag' && e.attributes[LABELS.build] === 'again-1',
  );
  t.is(tags.length, 1);
  t.deepEqual([...counter.hits()], [['/run/again', 1]]);
});
