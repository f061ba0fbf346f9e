import { errorMessage, isAbortError } from '../../common/errors.js';
import type { Isolation } from '../../common/isolation.js';
import type { Logger } from '../../common/log.js';
import type { NatsConnection } from '../../common/nats/connect.js';
import {
  AgentInternalError,
  AgentShutdownError,
  AttemptLostError,
  BuildFailure,
  CancelledError,
  DeadlineExceededError,
  ExecutorUnavailableError,
  MalformedBuildError,
  UnprivilegedRequiredError,
} from '../build-failures.js';
import { buildLimits, runBuild } from '../build-runner.js';
import { AGENT_ENV, type AgentConfig } from '../config.js';
import { ReportRefusedError, type CoordinatorClient } from '../coordinator-client.js';
import type { Executor } from '../executors/executor.js';
import type { BuildCacheGuard } from '../gc/build-cache-guard.js';
import type { ImagesInUse } from '../gc/images-in-use.js';
import {
  attemptKey,
  type AttemptRef,
  type BuildSecretValue,
  type ClaimedBuild,
  type Credentials,
} from '../jobs/claimed-build.js';
import { LogPublisher } from '../logs/log-publisher.js';
import { LogTail } from '../logs/log-tail.js';
import { SecretMasker } from '../logs/secret-masker.js';
import type { AgentMetrics } from '../metrics.js';
import type { UploadedContexts } from '../source/uploaded-contexts.js';
import { SourceImageLeases } from '../source/source-image-leases.js';
import { StageTimer, type TimedStage } from '../stages/stage-timer.js';
import type { WarmSet } from '../warm-set.js';
import type { RunningAttempt, RunningAttempts, StopWhy } from './running-attempts.js';

export interface AttemptRunnerOptions {
  config: Pick<
    AgentConfig,
    | 'name'
    | 'node'
    | 'workDir'
    | 'gitLfs'
    | 'maxContextBytes'
    | 'maxContextEntries'
    | 'maxContextRatio'
    | 'insecureRegistries'
  >;
  /** Where build logs are published. */
  nc: NatsConnection;
  client: CoordinatorClient;
  executor: Executor;
  /** Where uploaded contexts are read from. */
  uploads: UploadedContexts;
  /** The attempts running here: a deadline stops one through it. */
  running: RunningAttempts;
  /** Images running builds use: held while the attempt runs, so the image GC keeps them. */
  images: ImagesInUse;
  /** Held by each Dockerfile build while it sends its context; the image GC prunes under it. */
  buildCache: BuildCacheGuard;
  /** Configs built and images used here: a completed build adds to it. */
  warm: WarmSet;
  metrics: Pick<AgentMetrics, 'buildFinished'>;
  /** Called when an attempt has ended (builds are what fill the disk: the image GC looks). */
  afterAttempt: () => void;
  /** Aborted when a stopping agent gives up on reports still being retried. */
  reporting: AbortSignal;
}

/** How an attempt ended: what it pushed, or why it did not complete. */
type Outcome =
  { kind: 'complete'; image: string; digest: string; commit: string } | { kind: 'failed'; failure: BuildFailure };

/**
 * Runs claimed attempts, each on a lease of the executor, with its log streamed to JetStream, its
 * deadline kept and its stop orders obeyed, and reports how each ended. Which attempts run, and
 * whether their jobs are acknowledged, is the job loop's.
 */
export class AttemptRunner {
  /** The source images this agent pulled, and which of its builds use each (the last removes it). */
  private readonly sourceImages = new SourceImageLeases();

  constructor(private readonly o: AttemptRunnerOptions) {}

  /**
   * Runs a claimed attempt to its end and reports the outcome: complete with what it pushed, or
   * failed with why (a stop order, its deadline, the agent's shutdown, or the build's own
   * failure). The log is streamed as it runs; whatever leaves the agent is masked with the
   * build's credentials. A build that could not be read (`MalformedBuildError`) is reported
   * failed without running.
   * @returns whether the attempt is settled here: true when the coordinator answered the report
   *   (a refusal is an answer too: the attempt is no longer this agent's), and when it failed the
   *   report for a reason no retry can change (the attempt must not run again: a redelivered job
   *   would claim it with the same claim id, which the coordinator accepts); false only when the
   *   agent stopped before the report was answered, so the job goes back.
   */
  async run(attempt: RunningAttempt, build: ClaimedBuild | MalformedBuildError, log: Logger): Promise<boolean> {
    const claimedAt = performance.now();
    const key = attemptKey(attempt.ref);
    const deadline =
      build instanceof MalformedBuildError
        ? undefined
        : deadlineTimer(build, () => this.o.running.stop(attempt, 'DeadlineExceeded'));
    try {
      return await this.runAndReport(attempt, build, log, claimedAt);
    } finally {
      clearTimeout(deadline);
      this.o.images.release(key);
      this.o.afterAttempt();
    }
  }

  private async runAndReport(
    attempt: RunningAttempt,
    build: ClaimedBuild | MalformedBuildError,
    log: Logger,
    claimedAt: number,
  ): Promise<boolean> {
    const { ref } = attempt;
    log.info('build started', { node: this.o.config.node });
    // One masker for everything that leaves the agent about this build: log lines and the outcome.
    const {
      push,
      source,
      pull,
      build: buildSecrets,
      sourceImages,
    } = build instanceof MalformedBuildError
      ? { build: new Map<string, BuildSecretValue>(), sourceImages: new Map<string, Credentials>() }
      : build.credentials;
    const buildSecretValues = [...buildSecrets.values()].flatMap((s) =>
      'value' in s ? [{ password: s.value.toString('utf8') }] : [],
    );
    const masker = new SecretMasker([
      ...[push, source, pull].filter((s) => s !== undefined),
      ...sourceImages.values(),
      ...buildSecretValues,
    ]);
    const tail = new LogTail();
    const logs = new LogPublisher(this.o.nc, {
      namespace: ref.namespace,
      build: ref.name,
      attempt: ref.attempt,
      masker,
      log,
      tail,
    });
    const stages = new StageTimer();
    const onLine = (line: string) => logs.write(line);

    const outcome: Outcome =
      build instanceof MalformedBuildError
        ? { kind: 'failed', failure: build }
        : await this.execute(build, attempt, log, onLine, stages);

    const seconds = (performance.now() - claimedAt) / 1000;
    // The snippet is the log's end before the outcome line, which only repeats the status. The
    // lines are the log's own, masked as they were stored; masking the joined text again also
    // catches a secret that spans lines.
    const logSnippet = outcome.kind === 'failed' ? masker.mask(tail.text()) : '';
    if (outcome.kind === 'complete') onLine(`Build complete: ${outcome.image}@${outcome.digest}`);
    else onLine(`Build ${outcome.failure.phase.toLowerCase()}: ${outcome.failure.reason}: ${outcome.failure.message}`);
    const logLines = await logs.close(this.o.reporting);
    return this.report(ref, outcome, { logLines, stages: stages.list(), logSnippet, seconds }, masker, log);
  }

  /**
   * Reports the outcome, retrying (CoordinatorClient) until the coordinator answers or the agent
   * gives reporting up as it stops.
   */
  private async report(
    ref: AttemptRef,
    outcome: Outcome,
    facts: { logLines: number; stages: TimedStage[]; logSnippet: string; seconds: number },
    masker: SecretMasker,
    log: Logger,
  ): Promise<boolean> {
    const { logLines, stages, logSnippet, seconds } = facts;
    try {
      const final =
        outcome.kind === 'complete'
          ? await this.o.client.complete(
              {
                build: ref,
                agent: this.o.config.name,
                output: { image: outcome.image, digest: outcome.digest },
                commit: outcome.commit,
                logLines,
                stages,
              },
              this.o.reporting,
            )
          : await this.o.client.fail(
              {
                build: ref,
                agent: this.o.config.name,
                phase: outcome.failure.phase,
                reason: outcome.failure.reason,
                message: masker.mask(outcome.failure.message),
                exitCode: outcome.failure.exitCode ?? -1,
                logLines,
                stages,
                logSnippet,
              },
              this.o.reporting,
            );
      log.info('outcome accepted', { phase: final.status?.phase, reason: final.status?.reason || undefined });
      if (outcome.kind === 'complete') this.o.metrics.buildFinished('Complete', '', seconds);
      else this.o.metrics.buildFinished(outcome.failure.phase, outcome.failure.reason, seconds);
      return true;
    } catch (err) {
      if (err instanceof ReportRefusedError) {
        log.warn('outcome refused: this attempt is no longer ours', { refusal: err.refusal, error: err.message });
        return true;
      }
      if (isAbortError(err)) {
        log.warn('outcome not reported: the agent is stopping', { error: errorMessage(err) });
        return false;
      }
      log.error('outcome could not be reported; the attempt is not run again', { error: errorMessage(err) });
      return true;
    }
  }

  /**
   * Records the digests the attempt resolved its source images to; answers those the build
   * holds (an earlier attempt's, when one recorded them first).
   * @throws AttemptLostError when the coordinator refuses: the attempt is no longer this agent's.
   */
  private async recordSourceImages(
    ref: AttemptRef,
    images: { from: string; digest: string }[],
    signal: AbortSignal,
  ): Promise<{ from: string; digest: string }[]> {
    try {
      const build = await this.o.client.recordSourceImages({ build: ref, agent: this.o.config.name, images }, signal);
      return (build.status?.sourceImages ?? []).map(({ from, digest }) => ({ from, digest }));
    } catch (err) {
      if (err instanceof ReportRefusedError)
        throw new AttemptLostError(`the coordinator refused the source images' digests: ${err.message}`, {
          cause: err,
        });
      throw err;
    }
  }

  /**
   * The backstop for a build that must be unprivileged: on an executor whose builds do not run in
   * a user namespace it fails before anything is fetched or started.
   * @throws UnprivilegedRequiredError
   */
  private async refuseUnlessUserns(why: string): Promise<void> {
    const isolation = await this.o.executor.isolation();
    if (isolation === 'userns') return;
    throw new UnprivilegedRequiredError(
      `${why}, and agent ${this.o.config.name}'s builds run ${NOT_USERNS[isolation]}: such a build runs only on an agent whose builds run in a user namespace (dind with ${AGENT_ENV.dindUserns}=remap, or a remapped daemon)`,
    );
  }

  /** Runs the build on a lease of the executor: what it pushed, or why it did not complete. */
  private async execute(
    build: ClaimedBuild,
    attempt: RunningAttempt,
    log: Logger,
    onLine: (line: string) => void,
    stages: StageTimer,
  ): Promise<Outcome> {
    const { ref } = build;
    /** The base (or builder) images the build used: warm here once it completes. */
    const used: string[] = [];
    let daemonLost = false;
    try {
      // A Dockerfile build's limits hold only when its daemon is limited as a whole (BuildKit); so
      // do those of a custom builder given the daemon, which may run anything on it.
      const ownDaemon = build.strategy.kind === 'custom' && build.strategy.exposeDockerSocket;
      if (build.unprivilegedRequired) {
        // A namespace's policy the config's validation cannot see: the daemon is root on the node.
        if (ownDaemon)
          throw new UnprivilegedRequiredError(
            `${build.unprivilegedRequired}, and a custom builder given a Docker daemon (strategy.custom.exposeDockerSocket) can start containers as root on the node`,
          );
        await this.refuseUnlessUserns(build.unprivilegedRequired);
      }
      const daemonLimits = build.strategy.kind === 'docker' || ownDaemon ? buildLimits(build.resources) : undefined;
      const lease = await this.o.executor
        .acquire(attempt.abort.signal, { daemonLimits, ownDaemon })
        .catch((err: unknown) => {
          throw new ExecutorUnavailableError(`no Docker daemon for the build: ${errorMessage(err)}`, { cause: err });
        });
      try {
        const result = await runBuild({
          build,
          runtime: lease.runtime,
          daemonLimited: lease.limited,
          privateSocket: lease.privateSocket,
          agent: this.o.config.name,
          workDir: this.o.config.workDir,
          gitLfs: this.o.config.gitLfs,
          insecureRegistries: this.o.config.insecureRegistries,
          onLine,
          uploads: this.o.uploads,
          contextLimits: {
            maxBytes: this.o.config.maxContextBytes,
            maxEntries: this.o.config.maxContextEntries,
            maxRatio: this.o.config.maxContextRatio,
          },
          useImages: (refs) => {
            used.push(...refs);
            this.o.images.hold(attemptKey(ref), refs);
          },
          holdImages: (refs) => this.o.images.hold(attemptKey(ref), refs),
          stages,
          buildCache: this.o.buildCache,
          sourceImageLeases: this.sourceImages,
          recordSourceImages: (images) => this.recordSourceImages(ref, images, attempt.abort.signal),
          signal: attempt.abort.signal,
        });
        this.o.warm.built(`${ref.namespace}/${build.configName}`, used);
        return { kind: 'complete', ...result };
      } catch (err) {
        daemonLost = lease.lost();
        throw err;
      } finally {
        await lease.release().catch((err) => log.warn('releasing the executor failed', { error: errorMessage(err) }));
      }
    } catch (err) {
      return {
        kind: 'failed',
        failure: daemonLost
          ? new ExecutorUnavailableError(
              `the build's private Docker daemon died during the build: ${errorMessage(err)}`,
              { cause: err },
            )
          : failureOf(err, attempt.stopWhy, build),
      };
    }
  }
}

/** What to report for a build that did not complete, given why (if) it was stopped. */
/** What a build's root is on an agent whose builds do not run in a user namespace. */
const NOT_USERNS: Record<Exclude<Isolation, 'userns'>, string> = {
  'host-root': "as root on the node (the node's shared Docker daemon)",
  'privileged-root': 'as root on the node (a privileged Docker daemon that does not remap)',
  unknown: 'as it cannot tell (its Docker daemon did not answer)',
};

function failureOf(err: unknown, stopWhy: StopWhy | undefined, build: ClaimedBuild): BuildFailure {
  if (stopWhy === 'Cancelled') return new CancelledError('cancelled while running; the build was stopped');
  if (stopWhy === 'DeadlineExceeded')
    return new DeadlineExceededError(`stopped after the deadline of ${build.completionDeadlineSeconds}s`);
  if (stopWhy === 'Lost') return new AttemptLostError('the coordinator gave this attempt up; the build was stopped');
  if (stopWhy === 'AgentShutdown') return new AgentShutdownError('the agent shut down before the build finished');
  if (err instanceof BuildFailure) return err;
  return new AgentInternalError(errorMessage(err), { cause: err });
}

/** Fires at the build's deadline, counted from when the coordinator marked it Running. */
function deadlineTimer(build: ClaimedBuild, fire: () => void): NodeJS.Timeout | undefined {
  const seconds = build.completionDeadlineSeconds;
  if (!seconds) return undefined;
  const started = build.startedAtMs ?? Date.now();
  return setTimeout(fire, Math.max(0, started + seconds * 1000 - Date.now()));
}
