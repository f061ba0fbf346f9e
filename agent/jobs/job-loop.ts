import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { AbortedError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { NatsConnection } from '../../common/nats/connect.js';
import { agentJobConsumer, defaultJobStreamOptions } from '../../common/nats/jobs.js';
import type { BuildJob } from '../../common/nats/names.js';
import type { AttemptRunner } from '../attempts/attempt-runner.js';
import type { RunningAttempts } from '../attempts/running-attempts.js';
import { MalformedBuildError } from '../build-failures.js';
import type { AgentConfig } from '../config.js';
import { ReportRefusedError, type CoordinatorClient } from '../coordinator-client.js';
import type { ClaimGate } from '../kubernetes/claim-gate.js';
import { attemptKey, claimedBuildFrom, type ClaimedBuild } from './claimed-build.js';

/** How many settled attempts an agent run remembers, to refuse their redeliveries. */
const SETTLED_REMEMBERED = 10_000;

/** What becomes of a pulled job: acked (settled), or offered again (to this agent: it is placed here). */
type JobOutcome = 'settled' | 'retry';

export interface JobLoopOptions {
  config: Pick<AgentConfig, 'name' | 'node' | 'concurrency' | 'pullExpiresMs'>;
  /** This run of the agent: part of every claim id, so a restarted agent cannot take over its earlier claims. */
  instance: string;
  nc: NatsConnection;
  client: CoordinatorClient;
  /** Pulls wait while it is closed (the node cordoned or not known yet). */
  gate: ClaimGate;
  /** The labels the claim gives, as they are now (the coordinator checks the node selector against them). */
  nodeLabels: () => Record<string, string>;
  /** The attempts running here: a claimed attempt joins them until its job is settled or handed back. */
  running: RunningAttempts;
  runner: AttemptRunner;
  /** Aborted when the agent stops claiming: the loops return, a job pulled meanwhile goes back. */
  signal: AbortSignal;
  log: Logger;
}

/**
 * The agent's job loop: `concurrency` loops that each pull a job from the agent's work queue,
 * claim its attempt from the coordinator and have it run, one at a time. A job is acknowledged
 * (and so leaves the queue) only after the coordinator has answered the attempt's final report;
 * while it runs, JetStream is told the agent is still working on it, so a long build is not
 * redelivered. A redelivery of an attempt that runs here, or ran and was reported here, is not
 * run twice.
 *
 * The coordinator's heartbeat answer also names attempts placed here that were not claimed for a
 * while (their jobs never queued, or lost): `offer` claims and runs those as if delivered, within
 * the same concurrency. Whichever way an attempt comes first runs it; the other is not run twice.
 */
export class JobLoop {
  /**
   * Attempts this run of the agent ran and reported (`namespace/name/attempt`), newest last, at
   * most SETTLED_REMEMBERED: a redelivery of one (its ack lost with a NATS node) is not claimed
   * again. Its claim would carry the same claim id, which the coordinator takes as the repeat of
   * a lost answer; read from a lagging replica the build can still look Running with that id.
   */
  private readonly settled = new Set<string>();
  /** Attempts being claimed or run here, by `attemptKey`, whichever way they came: each once. */
  private readonly inFlight = new Map<string, Promise<JobOutcome>>();
  private loops: Promise<void>[] = [];
  /** Runs of attempts offered by heartbeat answers, until they end. */
  private readonly offered = new Set<Promise<void>>();

  constructor(private readonly o: JobLoopOptions) {}

  /** Binds the agent's consumer (waiting for a coordinator to create it), then starts the loops. */
  async start(): Promise<void> {
    const consumer = await this.bindConsumer();
    this.loops = Array.from({ length: this.o.config.concurrency }, () => this.pullLoop(consumer));
  }

  /** Resolves once every loop has returned (they do once `signal` aborts and their attempts are settled). */
  async stopped(): Promise<void> {
    await Promise.all(this.loops);
    await Promise.all(this.offered);
  }

  /**
   * Claims and runs the attempts a heartbeat answer says are placed here and unclaimed, as if
   * their jobs had been delivered (the work queue may have refused them, or lost them): those
   * not claimed or run here already, while there is room within the concurrency and the agent
   * claims at all (not stopping, its node not cordoned). A claim the coordinator refuses (the
   * placement taken back meanwhile, the job's copy claimed first) drops the offer. The claim id
   * is the placement's, so an offer repeated after a claim whose answer was lost is taken as
   * that claim's repeat.
   */
  offer(jobs: BuildJob[]): void {
    for (const job of jobs) {
      if (this.o.signal.aborted || !this.o.gate.isOpen || this.inFlight.size >= this.o.config.concurrency) return;
      const key = attemptKey({ namespace: job.namespace, name: job.build, attempt: job.attempt });
      // inFlight covers an attempt from its claim to its report (running attempts included).
      if (this.inFlight.has(key) || this.settled.has(key)) continue;
      const log = this.o.log.child({ build: `${job.namespace}/${job.build}`, attempt: job.attempt });
      log.info('claiming an attempt placed here whose job was not delivered', { placement: job.placement });
      const claimId = `${this.o.config.name}/${this.o.instance}/placement-${job.placement}`;
      const run = this.claimAndRun(job, claimId, log).then(
        () => undefined,
        (err: unknown) => log.error('running an offered attempt failed', { error: errorMessage(err) }),
      );
      this.offered.add(run);
      void run.finally(() => this.offered.delete(run));
    }
  }

  /** The coordinator creates the consumer; an agent that starts first waits for it. */
  private async bindConsumer(): Promise<Consumer> {
    for (;;) {
      try {
        return await agentJobConsumer(this.o.nc, this.o.config.name);
      } catch (err) {
        if (this.o.signal.aborted) throw new AbortedError('agent stopped before the job queue existed');
        this.o.log.info('job queue not there yet; waiting for a coordinator', { error: errorMessage(err) });
        await sleep(1000);
      }
    }
  }

  private async pullLoop(consumer: Consumer): Promise<void> {
    const signal = this.o.signal;
    while (!signal.aborted) {
      await this.o.gate.wait(signal);
      if (signal.aborted) return;
      // Attempts offered by heartbeats take room too: the agent runs at most `concurrency`.
      if (this.inFlight.size >= this.o.config.concurrency) {
        await sleep(200);
        continue;
      }
      let msg: JsMsg | null;
      try {
        msg = await consumer.next({ expires: this.o.config.pullExpiresMs });
      } catch (err) {
        if (signal.aborted) return;
        this.o.log.warn('pulling a job failed; retrying', { error: errorMessage(err) });
        await sleep(500);
        continue;
      }
      if (!msg) continue;
      if (signal.aborted) {
        msg.nak();
        return;
      }
      // Cordoned while the pull waited: the job goes back for another agent.
      if (!this.o.gate.isOpen) {
        msg.nak();
        continue;
      }
      await this.handle(msg);
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    let job: BuildJob;
    try {
      job = JSON.parse(msg.string()) as BuildJob;
    } catch {
      this.o.log.error('dropping a job that is not JSON', { seq: msg.seq });
      msg.term();
      return;
    }
    const log = this.o.log.child({ build: `${job.namespace}/${job.build}`, attempt: job.attempt });
    // Keep the job ours while we work: without this JetStream redelivers it after ack_wait.
    const keepAlive = setInterval(() => msg.working(), defaultJobStreamOptions().ackWaitMs / 3);
    try {
      const outcome = await this.claimAndRun(job, `${this.o.config.name}/${this.o.instance}/${msg.seq}`, log);
      // Not ackAck: its answer is a message per build more, and a lost ack only means the job
      // is delivered again, which is not run twice (claimAndRun) but acked again.
      if (outcome === 'settled') msg.ack();
      else msg.nak();
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * Claims the job's attempt with `claimId` and runs it, unless it is being claimed or run here
   * already (delivered twice, or offered by a heartbeat as it was delivered): then this ends as
   * that one does.
   * @returns settled when the coordinator answered; otherwise how to hand the job back.
   */
  private claimAndRun(job: BuildJob, claimId: string, log: Logger): Promise<JobOutcome> {
    const key = attemptKey({ namespace: job.namespace, name: job.build, attempt: job.attempt });
    // JetStream delivers a job again when it missed the in-progress acks (a NATS node died, the
    // consumer's leader moved). Delivered to this same agent run while the attempt is claimed or
    // runs here (or offered by a heartbeat meanwhile), it would run twice; it ends as that one does.
    const twin = this.inFlight.get(key);
    if (twin) {
      log.info('attempt delivered again while it is claimed or runs here; not running it twice', { claimId });
      return twin;
    }
    const run = this.claimAndRunOnce(job, claimId, log).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
    return run;
  }

  private async claimAndRunOnce(job: BuildJob, claimId: string, log: Logger): Promise<JobOutcome> {
    const ref = { namespace: job.namespace, name: job.build, attempt: job.attempt };
    const key = attemptKey(ref);
    if (this.settled.has(key)) {
      log.info('job delivered again after its attempt ran and was reported here; not running it twice', { claimId });
      return 'settled';
    }
    let build: ClaimedBuild | MalformedBuildError;
    try {
      const res = await this.o.client.claim(
        {
          build: ref,
          agent: this.o.config.name,
          node: this.o.config.node,
          claimId,
          nodeLabels: this.o.nodeLabels(),
        },
        this.o.signal,
      );
      try {
        build = claimedBuildFrom(res, ref);
      } catch (err) {
        if (!(err instanceof MalformedBuildError)) throw err;
        log.error('claimed a build that cannot be read; reporting it failed', { error: err.message });
        build = err;
      }
    } catch (err) {
      // NodeSelectorMismatch too: the node's labels changed since the placement, which the
      // coordinator takes back when this agent does not claim it.
      if (err instanceof ReportRefusedError) {
        log.info('claim refused; dropping the job', { refusal: err.refusal, error: err.message });
        return 'settled';
      }
      if (!(err instanceof AbortedError)) log.error('claim failed', { error: errorMessage(err) });
      return 'retry';
    }

    const r = this.o.running.add(ref);
    try {
      r.reported = this.o.runner.run(r, build, log);
      const outcome: JobOutcome = (await r.reported) ? 'settled' : 'retry';
      if (outcome === 'settled') this.rememberSettled(key);
      return outcome;
    } finally {
      this.o.running.end(r);
    }
  }

  private rememberSettled(key: string): void {
    this.settled.add(key);
    if (this.settled.size > SETTLED_REMEMBERED) this.settled.delete(this.settled.values().next().value!);
  }
}
