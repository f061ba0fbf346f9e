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
 */
export class JobLoop {
  /**
   * Attempts this run of the agent ran and reported (`namespace/name/attempt`), newest last, at
   * most SETTLED_REMEMBERED: a redelivery of one (its ack lost with a NATS node) is not claimed
   * again. Its claim would carry the same claim id, which the coordinator takes as the repeat of
   * a lost answer; read from a lagging replica the build can still look Running with that id.
   */
  private readonly settled = new Set<string>();
  private loops: Promise<void>[] = [];

  constructor(private readonly o: JobLoopOptions) {}

  /** Binds the agent's consumer (waiting for a coordinator to create it), then starts the loops. */
  async start(): Promise<void> {
    const consumer = await this.bindConsumer();
    this.loops = Array.from({ length: this.o.config.concurrency }, () => this.pullLoop(consumer));
  }

  /** Resolves once every loop has returned (they do once `signal` aborts and their attempts are settled). */
  async stopped(): Promise<void> {
    await Promise.all(this.loops);
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
      const outcome = await this.claimAndRun(job, msg, log);
      // Not ackAck: its answer is a message per build more, and a lost ack only means the job
      // is delivered again, which is not run twice (claimAndRun) but acked again.
      if (outcome === 'settled') msg.ack();
      else msg.nak();
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** @returns settled when the coordinator answered; otherwise how to hand the job back. */
  private async claimAndRun(job: BuildJob, msg: JsMsg, log: Logger): Promise<JobOutcome> {
    const ref = { namespace: job.namespace, name: job.build, attempt: job.attempt };
    const key = attemptKey(ref);
    // JetStream delivers a job again when it missed the in-progress acks (a NATS node died, the
    // consumer's leader moved). Delivered to this same agent run, the claim would carry the same
    // claim id, which the coordinator takes as a repeat of a lost answer: the attempt would run
    // twice. The attempt is running here already; this delivery ends as that run's does.
    const runningHere = () => this.o.running.get(ref)?.reported;
    const duplicate = async (reported: Promise<boolean>): Promise<JobOutcome> => {
      log.info('job delivered again while its attempt runs here; not running it twice', { seq: msg.seq });
      return (await reported) ? 'settled' : 'retry';
    };
    const before = runningHere();
    if (before) return duplicate(before);
    if (this.settled.has(key)) {
      log.info('job delivered again after its attempt ran and was reported here; not running it twice', {
        seq: msg.seq,
      });
      return 'settled';
    }
    let build: ClaimedBuild | MalformedBuildError;
    try {
      const res = await this.o.client.claim(
        {
          build: ref,
          agent: this.o.config.name,
          node: this.o.config.node,
          claimId: `${this.o.config.name}/${this.o.instance}/${msg.seq}`,
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

    // Claimed while the same delivery's twin was claiming (the same claim id is accepted twice).
    const during = runningHere();
    if (during) return duplicate(during);
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
