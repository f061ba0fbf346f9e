import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { AbortedError, errorMessage } from '../common/errors.js';
import { createLogger, type Logger } from '../common/log.js';
import { connectNats, type NatsConnection } from '../common/nats/connect.js';
import { defaultJobStreamOptions, jobConsumer } from '../common/nats/jobs.js';
import type { BuildJob } from '../common/nats/names.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { AgentInternalError, BuildFailure } from './build-failures.js';
import { runBuild } from './build-runner.js';
import type { AgentConfig } from './config.js';
import { CoordinatorClient, ReportRefusedError } from './coordinator-client.js';
import type { Executor } from './executors/executor.js';
import { HostExecutor } from './executors/host-executor.js';

export interface AgentDeps {
  log?: Logger;
  /** Defaults to the executor the config names. */
  executor?: Executor;
  /** Called with each line of a build's output (issue: log streaming hooks in here). */
  onBuildLine?: (job: BuildJob, line: string) => void;
}

/** Lines of output kept to explain a failure in the build's message. */
const TAIL_LINES = 5;

/**
 * A node agent: pulls build jobs from the work queue, claims each from the coordinator, runs it
 * on its executor and reports the outcome. A job is acknowledged (and so leaves the queue) only
 * after the coordinator has answered the final report; while a build runs the agent tells
 * JetStream it is still working, so a long build is not redelivered to another agent.
 */
export class Agent {
  private readonly abort = new AbortController();
  /** Runs of this process: a restarted agent cannot take over its earlier claims. */
  private readonly instance = randomUUID().slice(0, 8);
  private readonly running = new Set<string>();
  private loops: Promise<void>[] = [];

  private constructor(
    readonly config: AgentConfig,
    private readonly nc: NatsConnection,
    private readonly client: CoordinatorClient,
    private readonly executor: Executor,
    private readonly log: Logger,
    private readonly onBuildLine: (job: BuildJob, line: string) => void,
  ) {}

  static async start(config: AgentConfig, deps: AgentDeps = {}): Promise<Agent> {
    const log = deps.log ?? createLogger({ component: 'agent', agent: config.name }, { level: config.logLevel });
    await mkdir(config.workDir, { recursive: true });
    const nc = await connectNats({ servers: config.natsServers, name: config.name });
    const client = new CoordinatorClient(config.coordinator, { callTimeoutMs: 10_000, retryBaseMs: 100, retryMaxMs: 5000, log });
    const executor = deps.executor ?? new HostExecutor(config.dockerHost);
    const agent = new Agent(config, nc, client, executor, log, deps.onBuildLine ?? (() => {}));
    const consumer = await agent.bindConsumer();
    agent.loops = Array.from({ length: config.concurrency }, () => agent.pullLoop(consumer));
    log.info('agent started', { node: config.node, executor: executor.name, concurrency: config.concurrency });
    return agent;
  }

  /** Builds running now, as `namespace/name/attempt`. */
  get runningBuilds(): string[] {
    return [...this.running];
  }

  /** Stops pulling and aborts running builds; their jobs go back to the queue unacknowledged. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    this.client.close();
    await this.executor.close();
    await this.nc.drain().catch(() => this.nc.close());
    this.log.info('agent stopped');
  }

  /** The coordinator creates the consumer; an agent that starts first waits for it. */
  private async bindConsumer(): Promise<Consumer> {
    for (;;) {
      try {
        return await jobConsumer(this.nc);
      } catch (err) {
        if (this.abort.signal.aborted) throw new AbortedError('agent stopped before the job queue existed');
        this.log.info('job queue not there yet; waiting for a coordinator', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async pullLoop(consumer: Consumer): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let msg: JsMsg | null;
      try {
        msg = await consumer.next({ expires: this.config.pullExpiresMs });
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn('pulling a job failed; retrying', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!msg) continue;
      if (signal.aborted) {
        msg.nak();
        return;
      }
      await this.handle(msg);
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    let job: BuildJob;
    try {
      job = JSON.parse(msg.string()) as BuildJob;
    } catch {
      this.log.error('dropping a job that is not JSON', { seq: msg.seq });
      msg.term();
      return;
    }
    const log = this.log.child({ build: `${job.namespace}/${job.build}`, attempt: job.attempt });
    const id = `${job.namespace}/${job.build}/${job.attempt}`;
    // Keep the job ours while we work: without this JetStream redelivers it after ack_wait.
    const keepAlive = setInterval(() => msg.working(), defaultJobStreamOptions().ackWaitMs / 3);
    this.running.add(id);
    try {
      const settled = await this.claimAndRun(job, msg, log);
      if (settled) await msg.ackAck().catch((err) => log.warn('ack failed; the job may be delivered again and refused', { error: errorMessage(err) }));
      else msg.nak();
    } finally {
      clearInterval(keepAlive);
      this.running.delete(id);
    }
  }

  /** @returns true when the job is settled (the coordinator answered), false to hand it back. */
  private async claimAndRun(job: BuildJob, msg: JsMsg, log: Logger): Promise<boolean> {
    const signal = this.abort.signal;
    const ref = { namespace: job.namespace, name: job.build, attempt: job.attempt };
    let build: Build__Output;
    try {
      build = await this.client.claim(
        { build: ref, agent: this.config.name, node: this.config.node, claimId: `${this.config.name}/${this.instance}/${msg.seq}` },
        signal,
      );
    } catch (err) {
      if (err instanceof ReportRefusedError) {
        log.info('claim refused; dropping the job', { refusal: err.refusal, error: err.message });
        return true;
      }
      if (err instanceof AbortedError) return false;
      log.error('claim failed', { error: errorMessage(err) });
      return false;
    }

    log.info('build started', { node: this.config.node });
    const tail: string[] = [];
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      this.onBuildLine(job, line);
      log.debug('build output', { line });
    };

    let report: () => Promise<Build__Output>;
    try {
      const lease = await this.executor.acquire(signal);
      try {
        const result = await runBuild({ build, runtime: lease.runtime, agent: this.config.name, workDir: this.config.workDir, onLine, signal });
        report = () =>
          this.client.complete({ build: ref, agent: this.config.name, output: { image: result.image, digest: result.digest }, commit: result.commit }, signal);
      } finally {
        await lease.release().catch((err) => log.warn('releasing the executor failed', { error: errorMessage(err) }));
      }
    } catch (err) {
      if (err instanceof AbortedError && signal.aborted) {
        log.warn('build interrupted: agent stopping');
        return false;
      }
      const failure = err instanceof BuildFailure ? err : new AgentInternalError(errorMessage(err), { cause: err });
      log.info('build did not complete', { reason: failure.reason, error: failure.message });
      report = () =>
        this.client.fail(
          { build: ref, agent: this.config.name, phase: failure.phase, reason: failure.reason, message: failure.message, exitCode: failure.exitCode ?? -1 },
          signal,
        );
    }

    try {
      const final = await report();
      log.info('outcome accepted', { phase: final.status?.phase, reason: final.status?.reason || undefined });
      return true;
    } catch (err) {
      if (err instanceof ReportRefusedError) {
        log.warn('outcome refused: this attempt is no longer ours', { refusal: err.refusal, error: err.message });
        return true;
      }
      log.error('outcome could not be reported', { error: errorMessage(err) });
      return false;
    }
  }
}
