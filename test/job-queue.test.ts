import test from 'ava';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { defaultJobStreamOptions, ensureAgentJobConsumer, ensureJobStream, natsJobQueue } from '../common/nats/jobs.js';
import { agentJobSubject, JOBS_STREAM, type BuildJob } from '../common/nats/names.js';
import { startNatsServer } from './helpers/nats-server.js';

/** The placements and attempts of a build's job copies queued for `agent`, oldest first. */
async function queued(nc: Awaited<ReturnType<typeof connect>>, agent: string, build: string): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(JOBS_STREAM, { subjects_filter: agentJobSubject(agent, 'default', build) });
  const copies: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(JOBS_STREAM, { seq }).catch(() => null);
    if (m?.subject !== agentJobSubject(agent, 'default', build)) continue;
    const j = m.json<BuildJob>();
    copies.push(`${j.attempt}/${j.placement}`);
  }
  return copies;
}

test('withdrawing a taken-back placement removes its copy and older ones, and leaves a newer placement on the same agent', async (t) => {
  // nats-server 2.9.10 finds no last message for a subject once its newest is deleted: a
  // withdrawal that looked for the newest copy left every older one in the queue.
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  await ensureJobStream(nc, { ...defaultJobStreamOptions(), replicas: 1 });
  await ensureAgentJobConsumer(nc, 'agent-a');
  const jobs = natsJobQueue(nc);
  const job = (attempt: number, placement: number): BuildJob => ({
    namespace: 'default',
    build: 'app-1',
    attempt,
    placement,
  });

  await jobs.publish(job(1, 1), 'agent-a');
  await jobs.publish(job(1, 2), 'agent-a');
  // Placement 2 taken back; meanwhile placement 3 went to the same agent.
  await jobs.publish(job(1, 3), 'agent-a');
  await jobs.withdraw(job(1, 2), 'agent-a');
  t.deepEqual(await queued(nc, 'agent-a', 'app-1'), ['1/3'], 'the newer copy stays, the older ones are gone');
  t.deepEqual(await jobs.state(job(1, 3), 'agent-a'), { state: 'waiting', seq: 3 });

  await jobs.withdraw(job(1, 3), 'agent-a');
  t.deepEqual(await queued(nc, 'agent-a', 'app-1'), [], 'the taken-back placement is gone');
  t.deepEqual(await jobs.state(job(1, 3), 'agent-a'), { state: 'missing' });

  // A later attempt's copy is newer than any placement of an earlier attempt.
  await jobs.publish(job(1, 4), 'agent-a');
  await jobs.publish(job(1, 5), 'agent-a');
  await jobs.publish(job(2, 1), 'agent-a');
  await jobs.withdraw(job(1, 5), 'agent-a');
  t.deepEqual(await queued(nc, 'agent-a', 'app-1'), ['2/1']);
  t.deepEqual(await jobs.state(job(2, 1), 'agent-a'), { state: 'waiting', seq: 6 });
});

test("a taken-back placement's copy queued behind a newer placement's is withdrawn, and the newer copy is still found waiting", async (t) => {
  // A publish whose answer was lost can land after the next placement's: the stream then holds
  // placement 2's copy before placement 1's. Withdrawing placement 1 stopped at the newer copy and
  // left its own; the newer placement's state was read from the subject's last copy (placement
  // 1's), called missing, and at its timeout that placement was taken back and its copy deleted.
  const nats = await startNatsServer(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  await ensureJobStream(nc, { ...defaultJobStreamOptions(), replicas: 1 });
  await ensureAgentJobConsumer(nc, 'agent-a');
  const jobs = natsJobQueue(nc);
  const job = (placement: number): BuildJob => ({ namespace: 'default', build: 'app-2', attempt: 1, placement });

  await jobs.publish(job(2), 'agent-a');
  await jobs.publish(job(1), 'agent-a');
  t.deepEqual(await jobs.state(job(2), 'agent-a'), { state: 'waiting', seq: 1 }, 'the newer copy waits its turn');
  await jobs.withdraw(job(1), 'agent-a');
  t.deepEqual(await queued(nc, 'agent-a', 'app-2'), ['1/2'], "only the taken-back placement's copy is gone");
  t.deepEqual(await jobs.state(job(2), 'agent-a'), { state: 'waiting', seq: 1 });
  t.deepEqual(await jobs.state(job(1), 'agent-a'), { state: 'missing' });
});
