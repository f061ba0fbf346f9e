import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  JetStreamApiError,
  type Consumer,
  type JetStreamManager,
  type MsgRequest,
  type StoredMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isNotFound, nanos, upsertStream } from './streams.js';
import { streamPublisher } from './stream-publisher.js';
import {
  agentConsumerName,
  agentJobSubject,
  agentOfConsumerName,
  JOBS_STREAM,
  JOBS_SUBJECT_PREFIX,
  jobMessageId,
  LEGACY_JOBS_CONSUMER,
  type BuildJob,
} from './names.js';

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
 * Creates the work-queue stream, or leaves it as it is. The coordinator owns the stream; each
 * agent makes its own consumer (agentJobConsumer). The shared consumer of releases before
 * placement is deleted: its subjects overlap every agent's, which a work queue does not allow.
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
  await jsm.consumers.delete(JOBS_STREAM, LEGACY_JOBS_CONSUMER).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

/**
 * Makes the durable consumer of the jobs placed on `agent` if it is not there (coordinators do,
 * on seeing the agent's first heartbeat: agents may not create consumers).
 */
export async function ensureAgentJobConsumer(
  nc: NatsConnection,
  agent: string,
  options: Pick<JobStreamOptions, 'ackWaitMs'> = defaultJobStreamOptions(),
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const name = agentConsumerName(agent);
  try {
    await jsm.consumers.info(JOBS_STREAM, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(JOBS_STREAM, {
      durable_name: name,
      filter_subject: agentJobSubject(agent),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs),
      max_deliver: -1,
      max_ack_pending: 1000,
    });
  }
}

/**
 * Removes the durable consumer of the jobs placed on `agent` (an agent gone for good); jobs still
 * queued on its subject stay in the stream. One already gone counts as removed.
 * @returns whether this call deleted it (false: it was gone already, e.g. another coordinator's).
 */
export async function removeAgentJobConsumer(nc: NatsConnection, agent: string): Promise<boolean> {
  const jsm = await jetstreamManager(nc);
  return jsm.consumers.delete(JOBS_STREAM, agentConsumerName(agent)).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
    return false;
  });
}

/** An agent's job consumer as listed, and when it was last active. */
export interface AgentJobConsumer {
  agent: string;
  /** When it was made, or last delivered or was acked, whichever is latest (ms since the epoch). */
  activeAt: number;
}

/**
 * Every agent's durable job consumer on the jobs stream (a request per 256 consumers). Other
 * consumers (an ordered reader's, the legacy shared one) are not listed.
 */
export async function listAgentJobConsumers(nc: NatsConnection): Promise<AgentJobConsumer[]> {
  const jsm = await jetstreamManager(nc);
  const found: AgentJobConsumer[] = [];
  for await (const c of jsm.consumers.list(JOBS_STREAM)) {
    const agent = c.config.durable_name ? agentOfConsumerName(c.config.durable_name) : undefined;
    if (!agent) continue;
    // last_active: a timestamp from nats-server 2.10 on (nats.js types it as nanoseconds); absent before.
    const times = [c.created, c.delivered?.last_active, c.ack_floor?.last_active].map((t) =>
      typeof t === 'string' ? Date.parse(t) : NaN,
    );
    found.push({ agent, activeAt: Math.max(...times.filter((t) => !Number.isNaN(t))) });
  }
  return found;
}

/** The agent's own job consumer; throws until a coordinator has made it. */
export async function agentJobConsumer(nc: NatsConnection, agent: string): Promise<Consumer> {
  return jetstream(nc).consumers.get(JOBS_STREAM, agentConsumerName(agent));
}

/**
 * Queues one placement of an attempt for the agent it is placed on. Publishing the same
 * placement again is a no-op.
 */
export async function publishJob(nc: NatsConnection, job: BuildJob, agent: string): Promise<{ duplicate: boolean }> {
  const ack = await streamPublisher(nc).publish(agentJobSubject(agent, job.namespace, job.build), JSON.stringify(job), {
    msgId: jobMessageId(job.namespace, job.build, job.attempt, job.placement),
  });
  return { duplicate: ack.duplicate };
}

/**
 * Where a placed, still unclaimed job stands in its agent's queue:
 * - `waiting`: not yet delivered, with others before it (the agent is busy);
 * - `delivered`: the agent's consumer has delivered it, yet its build is unclaimed;
 * - `passed-over`: ahead of the consumer, which counts nothing pending: it will not be delivered.
 *   Seen on nats-server 2.9.10 at R3 after kill -9s: delivered = ack floor = 1569, num_pending 0,
 *   and 30 jobs at 1570–1599 in the stream that no agent ever got;
 * - `missing`: not in the stream (lost, or taken by an agent that is claiming it).
 */
export type JobQueueState = { state: 'waiting' | 'delivered' | 'passed-over'; seq: number } | { state: 'missing' };

async function jobQueueState(jsm: JetStreamManager, job: BuildJob, agent: string): Promise<JobQueueState> {
  const stored = await placementCopy(jsm, job, agent);
  if (!stored) return { state: 'missing' };
  let consumer;
  try {
    consumer = await jsm.consumers.info(JOBS_STREAM, agentConsumerName(agent));
  } catch (err) {
    // The agent has not made its consumer yet: the job waits for it.
    if (isNotFound(err)) return { state: 'waiting', seq: stored.seq };
    throw err;
  }
  if (stored.seq <= consumer.delivered.stream_seq) return { state: 'delivered', seq: stored.seq };
  if (consumer.num_pending === 0) return { state: 'passed-over', seq: stored.seq };
  return { state: 'waiting', seq: stored.seq };
}

/**
 * This placement's queued copy: the newest copy of the build's job on the agent's queue (the
 * stream leader answers a message get), or, when that is another placement's (or none: see
 * withdrawJob on 2.9.10), the one found by subject oldest first. A copy whose publish answer was
 * lost can land after a newer placement's: the newest copy is then not the newest placement's.
 */
async function placementCopy(jsm: JetStreamManager, job: BuildJob, agent: string): Promise<StoredMsg | null> {
  const subject = agentJobSubject(agent, job.namespace, job.build);
  const newest = await jsm.streams.getMessage(JOBS_STREAM, { last_by_subj: subject });
  if (newest && isPlacement(queuedJob(newest), job)) return newest;
  // A copy per placement on this agent at most; a few is plenty.
  for (let seq = 1, i = 0; i < 10; i++) {
    const stored = await nextCopy(jsm, subject, seq);
    if (!stored || (newest && stored.seq >= newest.seq)) return null;
    if (isPlacement(queuedJob(stored), job)) return stored;
    seq = stored.seq + 1;
  }
  return null;
}

/** The first copy on `subject` at or after `seq`. */
function nextCopy(jsm: JetStreamManager, subject: string, seq: number): Promise<StoredMsg | null> {
  // The server's message get takes next_by_subj (2.9 on); nats.js types only seq and last_by_subj for it.
  return jsm.streams.getMessage(JOBS_STREAM, { next_by_subj: subject, seq } as unknown as MsgRequest);
}

/**
 * Removes the queued copies of a build's job from an agent's queue: `job`'s placement (taken
 * back) and older ones, each read before it is deleted by its sequence. A newer copy stays,
 * wherever it sits: the build may have been placed on the same agent again meanwhile, and a
 * copy whose publish answer was lost can land after it. Copies are found oldest first by subject (next_by_subj), not by the
 * subject's last message: nats-server 2.9.10 finds no last message for a subject once its
 * newest one is deleted, though older ones remain. Deleted one by one, not purged by subject:
 * on 2.9.10 at R3, a node restarted after filtered purges stayed unhealthy (its /healthz never
 * passed in 60 s).
 */
async function withdrawJob(jsm: JetStreamManager, job: BuildJob, agent: string): Promise<void> {
  const subject = agentJobSubject(agent, job.namespace, job.build);
  // A copy per placement on this agent at most; a few is plenty.
  for (let seq = 1, i = 0; i < 10; i++) {
    const stored = await nextCopy(jsm, subject, seq);
    if (!stored) return;
    seq = stored.seq + 1;
    if (isNewer(queuedJob(stored), job)) continue;
    await jsm.streams.deleteMessage(JOBS_STREAM, stored.seq, false).catch((err: unknown) => {
      // Gone meanwhile: acked by the agent, or removed by another coordinator.
      if (!(err instanceof JetStreamApiError)) throw err;
    });
  }
}

/** The work queue as placement uses it. */
export interface JobQueue {
  /** Queues a placement of an attempt on its agent; the same placement twice is queued once. */
  publish(job: BuildJob, agent: string): Promise<unknown>;
  state(job: BuildJob, agent: string): Promise<JobQueueState>;
  /** Removes the job's queued copies, that placement's and older ones, from the agent's queue. */
  withdraw(job: BuildJob, agent: string): Promise<void>;
}

export function natsJobQueue(nc: NatsConnection): JobQueue {
  // One manager for every call; without the API check, which would be a request more.
  const jsm = jetstreamManager(nc, { checkAPI: false });
  return {
    publish: (job, agent) => publishJob(nc, job, agent),
    state: async (job, agent) => jobQueueState(await jsm, job, agent),
    withdraw: async (job, agent) => withdrawJob(await jsm, job, agent),
  };
}

/** A queued copy's job; fields it lacks (unreadable) are missing. */
function queuedJob(stored: StoredMsg): Partial<BuildJob> {
  try {
    return stored.json<BuildJob>();
  } catch {
    return {};
  }
}

/** Whether `queued` is `job`'s copy: its attempt and placement. */
function isPlacement(queued: Partial<BuildJob>, job: BuildJob): boolean {
  return queued.attempt === job.attempt && queued.placement === job.placement;
}

/** Whether `queued` is of a later attempt, or a later placement of the same attempt, than `job`. */
function isNewer(queued: Partial<BuildJob>, job: BuildJob): boolean {
  const attempt = queued.attempt ?? 0;
  return attempt > job.attempt || (attempt === job.attempt && (queued.placement ?? 0) > job.placement);
}
