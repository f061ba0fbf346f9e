import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
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

/** Puts one attempt of a build on the work queue. Publishing the same attempt again is a no-op. */
export async function publishJob(nc: NatsConnection, job: BuildJob): Promise<{ duplicate: boolean }> {
  const ack = await jetstream(nc).publish(jobSubject(job.namespace, job.build), JSON.stringify(job), {
    msgID: jobMessageId(job.namespace, job.build, job.attempt),
  });
  return { duplicate: ack.duplicate };
}

/** The agents' consumer; throws until the coordinator has created it. */
export async function jobConsumer(nc: NatsConnection): Promise<Consumer> {
  return jetstream(nc).consumers.get(JOBS_STREAM, JOBS_CONSUMER);
}
