import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { ownPlatformLabels } from '../api/platforms.js';
import { settlesWithin } from '../common/sleep.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../common/errors.js';
import { createLogger, type Logger } from '../common/log.js';
import { serveMetrics, type MetricsServer } from '../common/metrics/metrics-server.js';
import { AGENT_INBOX_PREFIX, connectNats, type NatsConnection } from '../common/nats/connect.js';
import { AttemptRunner } from './attempts/attempt-runner.js';
import { RunningAttempts } from './attempts/running-attempts.js';
import { LABELS } from './build-runner.js';
import { AGENT_ENV, gcCapacityBytes, gcThresholds, type AgentConfig } from './config.js';
import { CoordinatorClient } from './coordinator-client.js';
import type { Executor } from './executors/executor.js';
import { DindExecutor } from './executors/dind-executor.js';
import { HostExecutor } from './executors/host-executor.js';
import { removeLeftoverDaemons } from './executors/private-daemon.js';
import { rootlessProblem, rootlessUnavailable } from './executors/rootless-daemon.js';
import { remapUnavailable, usernsRemapProblem } from './executors/userns-remap.js';
import { BuildCacheGuard } from './gc/build-cache-guard.js';
import { ImageGarbageCollector, type GcRound } from './gc/image-gc.js';
import { ImagesInUse } from './gc/images-in-use.js';
import { Heartbeat } from './heartbeat/heartbeat.js';
import { JobLoop } from './jobs/job-loop.js';
import { ClaimGate } from './kubernetes/claim-gate.js';
import type { NodeWatcher, NodeState } from './kubernetes/node-watcher.js';
import { AgentMetrics } from './metrics.js';
import { NodeCacheReader } from './node-cache-reader.js';
import { objectStoreUploads, type UploadedContexts } from './source/uploaded-contexts.js';
import { WarmSet } from './warm-set.js';

export interface AgentDeps {
  log?: Logger;
  /** Defaults to the executor the config names. */
  executor?: Executor;
  /** With `kubeNode`: how to reach the Kubernetes API; defaults to what the config names. */
  kubeConfig?: KubeConfig;
  /**
   * What the agent's Dockerfile builds hold while they send their contexts and its image GC
   * prunes BuildKit's cache under; defaults to one of its own. Given, something else can prune
   * under it too.
   */
  buildCache?: BuildCacheGuard;
}

/** How long a stopping agent waits for its final reports. */
const FINAL_REPORT_TIMEOUT_MS = 10_000;

/**
 * A node agent, put together from its parts: the job loop (jobs/) pulls build jobs from the work
 * queue and claims each attempt from the coordinator; the attempt runner (attempts/) runs it on
 * the executor (executors/), streams its log to JetStream and reports the outcome; the heartbeat
 * (heartbeat/) tells the coordinator the agent is alive and brings back which builds to stop; the
 * image GC (gc/) and the node watch (kubernetes/) run beside them. This class starts them and
 * stops them: a graceful stop drains running builds before it lets go of anything.
 */
export class Agent {
  /** Stops claiming new jobs. */
  private readonly pulling = new AbortController();
  /** Gives up on reports still being retried; aborted last, when stopping. */
  private readonly reporting = new AbortController();
  /** This run of the agent: a restarted agent cannot take over its earlier claims. */
  readonly instance = randomUUID().slice(0, 8);
  private readonly running = new RunningAttempts();
  private readonly heartbeat: Heartbeat;
  private readonly jobs: JobLoop;
  /** Images running builds use; the image GC keeps them. */
  private readonly images = new ImagesInUse();
  private gc: ImageGarbageCollector | undefined;
  readonly metrics: AgentMetrics;
  private metricsServer: MetricsServer | undefined;
  /** Reads the node cache's hit and miss counters, when the config says where. */
  private readonly nodeCache: NodeCacheReader | undefined;
  /** The agent's Node in the Kubernetes API, when it reads it (config.kubeNode). */
  private nodeWatcher: NodeWatcher | undefined;
  /** Closed while the node is cordoned or not known yet: no new jobs are pulled. */
  private readonly gate: ClaimGate;
  /** Configs built and images used here, for placement's cache affinity. */
  private readonly warm = new WarmSet();

  private constructor(
    readonly config: AgentConfig,
    private readonly nc: NatsConnection,
    private readonly client: CoordinatorClient,
    private readonly executor: Executor,
    uploads: UploadedContexts,
    private readonly log: Logger,
    /** Builds sending their contexts hold it; the image GC prunes BuildKit's cache under it. */
    private readonly buildCache: BuildCacheGuard,
  ) {
    this.nodeCache = config.nodeCacheMetricsUrl
      ? new NodeCacheReader(config.nodeCacheMetricsUrl, log.child({ component: 'node-cache-reader' }))
      : undefined;
    const nodeCache = this.nodeCache;
    this.metrics = new AgentMetrics({
      labels: { agent: config.name, node: config.node },
      capacity: config.concurrency,
      running: () => this.running.size,
      nodeCache: nodeCache ? () => nodeCache.figures : undefined,
    });
    this.gate = new ClaimGate(!config.kubeNode);
    const runner = new AttemptRunner({
      config,
      nc,
      client,
      executor,
      uploads,
      running: this.running,
      images: this.images,
      buildCache,
      warm: this.warm,
      metrics: this.metrics,
      // Builds are what fill the disk: see whether this one pushed usage over the threshold.
      afterAttempt: () => void this.gc?.collect('pressure'),
      reporting: this.reporting.signal,
    });
    this.jobs = new JobLoop({
      config,
      instance: this.instance,
      nc,
      client,
      gate: this.gate,
      nodeLabels: () => this.nodeLabels,
      running: this.running,
      runner,
      signal: this.pulling.signal,
      log,
    });
    this.heartbeat = new Heartbeat({
      config,
      instance: this.instance,
      client,
      running: this.running,
      nodeLabels: () => this.nodeLabels,
      cordoned: () => this.nodeWatcher?.current?.unschedulable ?? false,
      draining: () => this.pulling.signal.aborted,
      metrics: this.metrics,
      nodeCache,
      warm: this.warm,
      limitsDockerfileBuilds: executor.limitsDockerfileBuilds,
      daemonPerBuild: executor.daemonPerBuild,
      claimPlaced: (jobs) => this.jobs.offer(jobs),
      isolation: () => executor.isolation(),
      log,
    });
  }

  static async start(config: AgentConfig, deps: AgentDeps = {}): Promise<Agent> {
    const log = deps.log ?? createLogger({ component: 'agent', agent: config.name }, { level: config.logLevel });
    // Before connecting anything: a kubeconfig that cannot be loaded stops the start.
    // Loaded only for node awareness: the Kubernetes client is 70 MiB of memory.
    const nodeWatching = config.kubeNode ? await import('./kubernetes/node-watcher.js') : undefined;
    const kubeConfig = nodeWatching ? (deps.kubeConfig ?? nodeWatching.loadKubeConfig(config.kubeconfig)) : undefined;
    await mkdir(config.workDir, { recursive: true });
    const tls = config.tlsCAFile
      ? {
          ca: await readFile(config.tlsCAFile),
          ...(config.tlsCertFile
            ? { cert: await readFile(config.tlsCertFile), key: await readFile(config.tlsKeyFile) }
            : {}),
        }
      : undefined;
    const nc = await connectNats({
      servers: config.natsServers,
      name: config.name,
      user: config.natsUser,
      password: config.natsPassword,
      credsFile: config.natsCredsFile,
      inboxPrefix: AGENT_INBOX_PREFIX,
    });
    const client = new CoordinatorClient(config.coordinators, {
      tls,
      callTimeoutMs: 10_000,
      retryBaseMs: 100,
      retryMaxMs: 5000,
      log,
    });
    let executor: Executor;
    try {
      executor = deps.executor ?? (await executorFor(config, log));
    } catch (err) {
      // An agent that cannot start leaves no connection behind (its process, or a test's, can end).
      client.close();
      await nc.close();
      throw err;
    }
    const agent = new Agent(
      config,
      nc,
      client,
      executor,
      objectStoreUploads(nc),
      log,
      deps.buildCache ?? new BuildCacheGuard(),
    );
    if (kubeConfig && nodeWatching) agent.watchNode(nodeWatching.NodeWatcher, kubeConfig);
    if (executor.name === 'host') await agent.removeLeftovers();
    agent.startGc();
    if (config.metricsListen) agent.metricsServer = await serveMetrics(agent.metrics.registry, config.metricsListen);
    await agent.nodeCache?.refresh();
    await agent.heartbeat.start();
    await agent.jobs.start();
    log.info('agent started', {
      node: config.node,
      instance: agent.instance,
      executor: executor.name,
      concurrency: config.concurrency,
    });
    return agent;
  }

  /** host:port of the agent's /metrics, when it serves them. */
  get metricsAddress(): string | undefined {
    return this.metricsServer?.address;
  }

  /**
   * The labels advertised for placement: the machine's own platform (kubernetes.io/os and
   * kubernetes.io/arch, as a Node of it carries them), SLIPWAY_NODE_LABELS, then its Node's as
   * last read; later ones win.
   */
  get nodeLabels(): Record<string, string> {
    return { ...ownPlatformLabels(), ...this.config.nodeLabels, ...(this.nodeWatcher?.current?.labels ?? {}) };
  }

  /** Whether the agent takes new jobs now: its node is known and not cordoned. */
  get claiming(): boolean {
    return this.gate.isOpen;
  }

  /**
   * Follows the node: the gate opens while it exists and is not cordoned, and every change is
   * advertised to the coordinator at once rather than at the next heartbeat.
   */
  private watchNode(Watcher: typeof NodeWatcher, kubeConfig: KubeConfig): void {
    this.nodeWatcher = new Watcher({
      kubeConfig,
      node: this.config.node,
      log: this.log.child({ kubernetes: 'node' }),
      onChange: (node) => this.nodeChanged(node),
    });
    this.nodeWatcher.start();
  }

  private nodeChanged(node: NodeState | undefined): void {
    const open = node !== undefined && !node.unschedulable;
    if (open !== this.gate.isOpen) {
      this.log.info(open ? 'node schedulable: claiming builds' : 'node cordoned or unknown: claiming nothing new', {
        node: this.config.node,
        running: this.runningBuilds,
      });
    }
    this.gate.set(open);
    void this.heartbeat.beat();
  }

  /** Runs an image GC round now (as pressure would); undefined when GC is off or has no daemon. */
  collectGarbage(): Promise<GcRound | undefined> {
    return this.gc?.collect('pressure') ?? Promise.resolve(undefined);
  }

  private startGc(): void {
    const c = this.config;
    if (c.gcIntervalMs === 0) return;
    this.gc = new ImageGarbageCollector({
      policy: {
        ...gcThresholds(c),
        minAgeMs: c.gcMinAgeMs,
        pinned: c.gcPinnedImages,
        capacityBytes: gcCapacityBytes(c),
        filesystem: c.gcFilesystem || undefined,
      },
      intervalMs: c.gcIntervalMs,
      target: () => this.executor.gcTarget(),
      images: this.images,
      buildCache: this.buildCache,
      isRunning: (labels) =>
        this.running.has(`${labels[LABELS.namespace]}/${labels[LABELS.build]}/${labels[LABELS.attempt]}`),
      observer: {
        observe: (round) => {
          this.metrics.observe(round);
          // Placement should stop sending builds here for what is gone: tell it now.
          if (round.warmForgotten > 0) void this.heartbeat.beat();
        },
      },
      warm: this.warm,
      log: this.log.child({ gc: 'images' }),
    });
    this.gc.start();
  }

  /** Builds running now, as `namespace/name/attempt`. */
  get runningBuilds(): string[] {
    return this.running.keys();
  }

  /**
   * Graceful stop: claims nothing more, lets running builds finish for up to `drainTimeoutMs`,
   * then stops the rest and reports them as AgentShutdown (the coordinator retries them when
   * their config allows), and waits for those reports up to a short timeout.
   */
  async stop(drainTimeoutMs = this.config.drainTimeoutMs): Promise<void> {
    this.pulling.abort();
    // Draining: placement takes back what is placed here and places nothing new. Waited for
    // before the client closes: with nothing running the stop would close it first, and
    // placement would go on placing here until the agent's silence was noticed.
    const saidDraining = this.heartbeat.beat();
    const drained = await settlesWithin(this.running.allEnded(), drainTimeoutMs);
    if (!drained) {
      this.log.warn('drain timeout: stopping running builds', { running: this.runningBuilds });
      this.running.stopAll('AgentShutdown');
    }
    const reported = await settlesWithin(this.running.allEnded(), FINAL_REPORT_TIMEOUT_MS);
    if (!reported)
      this.log.warn('final reports did not get through; their jobs will be redelivered', {
        running: this.runningBuilds,
      });
    await settlesWithin(saidDraining, FINAL_REPORT_TIMEOUT_MS);
    this.reporting.abort();
    await this.jobs.stopped();
    await this.nodeWatcher?.stop();
    this.heartbeat.stop();
    this.client.close();
    await this.gc?.stop();
    await this.metricsServer?.close();
    await this.executor.close();
    await this.nc.drain().catch(() => this.nc.close());
    this.log.info('agent stopped');
  }

  /**
   * What earlier runs of this agent left on the daemon: containers it labelled, and untagged
   * images it labelled (from builds cut short). Nothing without this agent's label is touched.
   */
  private async removeLeftovers(): Promise<void> {
    const lease = await this.executor.acquire(this.pulling.signal);
    try {
      const mine = { [LABELS.agent]: this.config.name };
      const containers = await lease.runtime.listContainers(mine);
      await Promise.all(containers.map((c) => lease.runtime.removeContainer(c.id)));
      const images = await lease.runtime.listImages(mine, { dangling: true });
      await Promise.all(images.map((id) => lease.runtime.removeImage(id)));
      if (containers.length + images.length > 0) {
        this.log.info('removed what an earlier run left', { containers: containers.length, images: images.length });
      }
    } catch (err) {
      this.log.warn('could not remove leftovers of an earlier run', { error: errorMessage(err) });
    } finally {
      await lease.release();
    }
  }
}

/** The executor the config names; for dind, after clearing daemons an earlier run left. */
async function executorFor(config: AgentConfig, log: Logger): Promise<Executor> {
  if (config.executor === 'host') return new HostExecutor(config.dockerHost, config.dockerPrivate);
  if (config.dindUserns === 'remap') {
    // Refused at start, not build by build: every build would fail the same way.
    const problem = await usernsRemapProblem();
    if (problem) throw remapUnavailable(problem);
  } else if (config.dindUserns === 'rootless') {
    const problem = await rootlessProblem(config.dindRootlessUser);
    if (problem) throw rootlessUnavailable(problem);
  } else {
    log.warn(`${AGENT_ENV.dindUserns}=off: builds run as root on the node`);
  }
  await mkdir(config.dindRoot, { recursive: true });
  // A remapped root, or a rootless daemon's user, must pass through it to its daemon's folder
  // (which lets nobody else in, or lists nothing). Folders above it are the node's to open: a
  // data root may also be set elsewhere, and dockerd names a closed one when it starts.
  if (config.dindUserns !== 'off') await chmod(config.dindRoot, 0o711);
  const left = await removeLeftoverDaemons(config.dindRoot, log);
  if (left > 0) log.info('removed private daemons an earlier run left', { count: left });
  return new DindExecutor({
    mode: config.dindMode,
    dockerd: config.dockerd,
    rootParent: config.dindRoot,
    registryMirrors: config.registryMirrors,
    userns: config.dindUserns,
    rootlessUser: config.dindRootlessUser,
    startTimeoutMs: 60_000,
    log: log.child({ executor: 'dind' }),
  });
}
