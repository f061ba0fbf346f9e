import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  JetStreamApiError,
  type Consumer,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isNotFound, nanos, upsertStream } from './streams.js';
import { JOBS_CONSUMER, JOBS_STREAM, JOBS_SUBJECT_PREFIX, jobMessageId, jobSubject, type BuildJob } from './names.js';

export interface JobStreamOptions {
  replicas: number;
  /** How long the stream remembers a message id to drop a re-published duplicate. */
  duplicateWindowMs: number;
  /** How long a delivered job may go without an ack or an in-progress signal before redelivery. */
  ackWaitMs: number;
}

export function defaultJobStreamOptions(): JobStreamOptions {
  return { replicas: 1, duplicateWindowMs: 10 * 60_000, ackWaitMs: 15_000 };
}

/**
 * Creates the work-queue stream and the agents' durable consumer, or leaves them as they are.
 * The coordinator owns this topology; agents only bind to it.
 */
export async function ensureJobStream(nc: NatsConnection, options: JobStreamOptions): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await upsertStream(jsm, {
    name: JOBS_STREAM,
    subjects: [`${JOBS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: options.replicas,
    duplicate_window: nanos(options.duplicateWindowMs),
  });
  const consumer = {
    durable_name: JOBS_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(options.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: 10_000,
  };
  try {
    await jsm.consumers.info(JOBS_STREAM, JOBS_CONSUMER);
    await jsm.consumers.update(JOBS_STREAM, JOBS_CONSUMER, { ack_wait: consumer.ack_wait, max_ack_pending: consumer.max_ack_pending });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(JOBS_STREAM, consumer);
  }
}

/**
 * Puts one attempt of a build on the work queue. Publishing the same attempt (and `requeue`)
 * again is a no-op.
 */
export async function publishJob(nc: NatsConnection, job: BuildJob, requeue = 0): Promise<{ duplicate: boolean }> {
  const ack = await jetstream(nc).publish(jobSubject(job.namespace, job.build), JSON.stringify(job), {
    msgID: jobMessageId(job.namespace, job.build, job.attempt, requeue),
  });
  return { duplicate: ack.duplicate };
}

/**
 * Where a queued, still unclaimed job stands:
 * - `waiting`: in the stream and not yet delivered: jobs queued before it are in the way;
 * - `delivered`: in the stream, and the agents' consumer has delivered past it, yet its build is
 *   unclaimed: handed back (no matching node), or stranded (see BuildController's requeue);
 * - `passed-over`: in the stream ahead of the consumer, which counts nothing pending;
 * - `missing`: not in the stream.
 */
export type JobQueueState = { state: 'waiting' | 'delivered' | 'passed-over'; seq: number } | { state: 'missing' };

export async function jobQueueState(nc: NatsConnection, job: BuildJob): Promise<JobQueueState> {
  const jsm = await jetstreamManager(nc);
  // Only this build's jobs are on its subject; the newest is the current attempt's, if any is.
  const stored = await jsm.streams.getMessage(JOBS_STREAM, { last_by_subj: jobSubject(job.namespace, job.build) });
  if (!stored) return { state: 'missing' };
  let queued: Partial<BuildJob>;
  try {
    queued = stored.json<BuildJob>();
  } catch {
    queued = {};
  }
  if (queued.attempt !== job.attempt) return { state: 'missing' };
  const consumer = await jsm.consumers.info(JOBS_STREAM, JOBS_CONSUMER);
  if (stored.seq <= consumer.delivered.stream_seq) return { state: 'delivered', seq: stored.seq };
  // Ahead of the consumer, which counts no message there: it will not deliver this one. Seen on
  // nats-server 2.9.10 at R3 after kill -9s: delivered = ack floor = 1569, num_pending 0, and
  // 30 jobs at 1570–1599 in the stream that no agent ever got.
  if (consumer.num_pending === 0) return { state: 'passed-over', seq: stored.seq };
  return { state: 'waiting', seq: stored.seq };
}

/**
 * Queues the `requeue`th copy of a job whose earlier copy is lost or stranded, and removes that
 * copy (`staleSeq`) so that a build waiting long holds one message, not one per requeue. Should
 * the old copy reach an agent anyway, the build's claim lets only one of the two run.
 */
export async function requeueJob(nc: NatsConnection, job: BuildJob, requeue: number, staleSeq?: number): Promise<void> {
  if (staleSeq !== undefined) {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.deleteMessage(JOBS_STREAM, staleSeq, false).catch((err: unknown) => {
      // Gone already: delivered and acked, or removed by another coordinator's requeue.
      if (!(err instanceof JetStreamApiError)) throw err;
    });
  }
  await publishJob(nc, job, requeue);
}

/** The agents' consumer; throws until the coordinator has created it. */
export async function jobConsumer(nc: NatsConnection): Promise<Consumer> {
  return jetstream(nc).consumers.get(JOBS_STREAM, JOBS_CONSUMER);
}

/** The work queue as the build controller uses it. */
export interface JobQueue {
  /** Queues the attempt's job; the same attempt twice is queued once. */
  publish(job: BuildJob): Promise<unknown>;
  state(job: BuildJob): Promise<JobQueueState>;
  requeue(job: BuildJob, requeue: number, staleSeq?: number): Promise<void>;
}

export function natsJobQueue(nc: NatsConnection): JobQueue {
  return {
    publish: (job) => publishJob(nc, job),
    state: (job) => jobQueueState(nc, job),
    requeue: (job, requeue, staleSeq) => requeueJob(nc, job, requeue, staleSeq),
  };
}
