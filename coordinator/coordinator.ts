import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../common/errors.js';
import { isNatsUnavailable } from '../common/grpc/status.js';
import { CallAuthorizer } from './grpc/call-auth.js';
import { connectNats, type NatsConnection } from '../common/nats/connect.js';
import { stateStoreWarnings } from '../common/nats/server-version.js';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  defaultJobStreamOptions,
  ensureAgentJobConsumer,
  ensureJobStream,
  natsJobQueue,
  listAgentJobConsumers,
  removeAgentJobConsumer,
} from '../common/nats/jobs.js';
import { defaultLogStreamOptions, ensureLogStream } from '../common/nats/logs.js';
import { AgentLeases } from './agents/agent-leases.js';
import { AgentRetention } from './agents/agent-retention.js';
import { natsSlotKeys } from './agents/agent-slot-keys.js';
import { AgentRegistry } from './agents/agent-registry.js';
import { BuildLogs } from './logs/build-logs.js';
import { LogPurger } from './logs/log-purge.js';
import { BuildHistory } from './history/build-history.js';
import { SecretStore } from './secrets/secret-store.js';
import { ContextStore } from './uploads/context-store.js';
import { createLogger, type Logger } from '../common/log.js';
import type { TokenAuthenticator } from './auth/index.js';
import { Closers } from '../common/closers.js';
import { BuildController, defaultBuildControllerOptions } from './build-controller/controller.js';
import { RunSlots } from './build-controller/run-slot.js';
import { AgentDirectory } from './placement/agent-directory.js';
import { AgentSlots } from './placement/agent-slots.js';
import { BuildCache } from './store/build-cache.js';
import { ConfigCache } from './store/config-cache.js';
import { defaultSchedulerOptions, Scheduler } from './placement/scheduler.js';
import { UnclaimedPlacements } from './placement/unclaimed-placements.js';
import { UnprivilegedPolicy } from './placement/unprivileged-policy.js';
import { AgentReports } from './builds/agent-reports.js';
import { BuildApi } from './builds/build-api.js';
import { COORDINATOR_ENV, type CoordinatorConfig } from './config.js';
import { AgentService } from './grpc/agent-service.js';
import { BuildService } from './grpc/build-service.js';
import { HealthService } from './grpc/health-service.js';
import { ReflectionService } from './grpc/reflection-service.js';
import { bind, grpcSecurity, shutDownServers } from './grpc/servers.js';
import { kubeApiAuth } from './kube-api/auth.js';
import { KubeApiServer, type KubeApiServerOptions } from './kube-api/server.js';
import { HttpServer } from './http/http-server.js';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.js';
import { pushPlatformIndex } from './builds/platform-index.js';
import { registerDashboard } from './dashboard/dashboard.js';
import { registerWebhooks } from './triggers/webhooks.js';
import { defaultStateStoreOptions, openStateStore, type StateStore } from './store/state-store.js';
import { ConfigChangeTriggers } from './triggers/config-change.js';
import { PendingBuildSweeper, sweepIntervalMs } from './builds/pending-builds.js';
import { ImageChangeTriggers } from './triggers/image-change.js';
import { ImagePoller } from './triggers/image-poller.js';
import { RegistryNotifications } from './triggers/registry-notifications.js';
import { registryHostKey } from '../common/image-reference.js';
import { settlesWithin } from '../common/sleep.js';

export interface CoordinatorDeps {
  log?: Logger;
  clock?: () => Date;
  /**
   * For the Kubernetes API (when `kubeApiListen` is set): authentication, authorization and
   * TLS over what `kubeApiAuth` and the TLS settings give (by default plain HTTP, everyone
   * allowed: local use only), bookmark interval.
   */
  kubeApi?: Omit<KubeApiServerOptions, 'listen' | 'log' | 'clock'>;
}

/** How the closers shut things down: at once (a start that failed) or as stop() asks. */
interface Shutdown {
  /** Set by stop(): gRPC calls in flight get this long, and NATS is drained. Unset: a failed start, all closed at once. */
  graceMs?: number;
}

/**
 * One coordinator: the state store, the build controller and the gRPC services, on one NATS
 * connection. Any number may run against the same NATS.
 *
 * Start-up is a stack (common/closers.ts): each part that starts pushes its closer, and a start
 * that fails part-way, or stop(), unwinds it once, newest first: the loops, the HTTP port, the
 * Kubernetes API, the gRPC servers, then NATS.
 */
export class Coordinator {
  private constructor(
    readonly config: CoordinatorConfig,
    /** The bound gRPC address (host:port), with the real port when 0 was asked for. */
    readonly address: string,
    /** Where agents call AgentService: `address`, or the mutual-TLS port when there is one. */
    readonly agentAddress: string,
    readonly store: StateStore,
    /** The Kubernetes API server, when `kubeApiListen` asked for one. */
    readonly kubeApi: KubeApiServer | undefined,
    /** The HTTP port (webhooks, metrics, dashboard), when `httpListen` asked for one. */
    readonly http: HttpServer | undefined,
    private readonly closers: Closers,
    private readonly shutdown: Shutdown,
    private readonly health: HealthService,
    private readonly log: Logger,
  ) {}

  static async start(config: CoordinatorConfig, deps: CoordinatorDeps = {}): Promise<Coordinator> {
    const log =
      deps.log ?? createLogger({ component: 'coordinator', coordinator: config.id }, { level: config.logLevel });
    const clock = deps.clock ?? (() => new Date());
    // Files first: a setting that cannot be used stops the start before anything connects.
    const security = await grpcSecurity(config);
    const closers = new Closers();
    const shutdown: Shutdown = {};
    const nc = await connectNats({
      servers: config.natsServers,
      name: config.id,
      user: config.natsUser,
      password: config.natsPassword,
      credsFile: config.natsCredsFile,
    });
    closers.defer(() => closeNats(nc, shutdown.graceMs));
    try {
      // On a cluster that is electing a leader (or coordinators creating the same R3 assets at
      // once) JetStream may not answer for a while: keep asking rather than fail the start.
      const store = await whileNatsUnavailable(log, 'open the state store', () =>
        openStateStore(nc, { ...defaultStateStoreOptions(), replicas: config.replicas }),
      );
      await whileNatsUnavailable(log, 'create the job stream', () =>
        ensureJobStream(nc, { ...defaultJobStreamOptions(), replicas: config.replicas }),
      );
      await whileNatsUnavailable(log, 'create the log stream', () =>
        ensureLogStream(nc, {
          ...defaultLogStreamOptions(),
          replicas: config.replicas,
          maxAgeMs: config.logMaxAgeMs,
          maxBytes: config.logMaxBytes,
        }),
      );
      for (const warning of stateStoreWarnings(nc.info?.version, config.replicas)) log.warn(warning);
      const agents = new AgentRegistry(store.agents, clock);
      const secrets = new SecretStore(store.secrets, config.secretKey, clock, randomUUID);

      // Metrics only where they can be read: on the HTTP port.
      const metrics = config.httpListen
        ? new CoordinatorMetrics({
            labels: { coordinator: config.id },
            agentGraceMs: config.agentGraceMs,
            clock,
            log: log.child({ component: 'metrics' }),
          })
        : undefined;
      const serverOptions: grpc.ServerOptions = metrics ? { interceptors: [metrics.grpcInterceptor] } : {};
      const server = new grpc.Server(serverOptions);
      const servers = [server];
      closers.defer(() => shutDownServers(servers, shutdown.graceMs));
      // Registered first, NOT_SERVING: a probe that reaches the port before start() returns
      // is told to wait rather than refused.
      const health = new HealthService();
      health.addTo(server);
      const contexts = await whileNatsUnavailable(log, 'open the contexts object store', () =>
        ContextStore.open(nc, { replicas: config.replicas, maxBytes: config.maxContextBytes }),
      );
      const logPurger = new LogPurger(nc);
      // The configs StartBuild numbers builds through; its watch runs with the build loops.
      const configs = new ConfigCache(store.buildConfigs, log.child({ component: 'config-cache' }));
      const buildApi = new BuildApi(store, {
        configs,
        clock,
        purgeLogs: (b) => logPurger.purge(b),
        observer: metrics?.transitions,
      });
      const parts: Parts = {
        config,
        log,
        clock,
        nc,
        store,
        closers,
        abort: everyLoopsAbort(),
        metrics,
        secrets,
        buildApi,
      };
      // The watch cache of Builds: the controller syncs from it, the scheduler places from it,
      // and agents' reports are written at the revision it holds. Its watch runs with the build loops.
      const builds = new BuildCache(store.builds, log.child({ component: 'build-cache' }));
      const history = new BuildHistory(store, logPurger, log.child({ component: 'build-history' }), configs);
      const buildLogs = new BuildLogs(nc, store.builds);
      const callAuth = new CallAuthorizer(security.tokens);
      new BuildService(buildApi, buildLogs, secrets, contexts, log, callAuth).addTo(server);
      new ReflectionService(callAuth, log.child({ component: 'reflection' })).addTo(server);
      const leases = new AgentLeases(agents, config.agentGraceMs, clock, {
        tickMs: 1000,
        onStall: (lateMs) =>
          log.warn('this process stood still; agent leases restart their grace', { stalledMs: Math.round(lateMs) }),
      });
      const agentService = new AgentService(
        new AgentReports(store, agents, secrets, clock, metrics?.transitions, () => leases.listening(), builds, {
          placements: new UnclaimedPlacements(builds),
          afterMs: config.placementRemindMs,
        }),
        log,
        security.agentCredentials !== undefined,
        new UnprivilegedPolicy(config.unprivilegedNamespaces),
      );
      const address = await bind(server, config.grpcListen, security.serverCredentials);
      let agentAddress = address;
      if (security.agentCredentials) {
        const agentServer = new grpc.Server(serverOptions);
        servers.push(agentServer);
        agentService.addTo(agentServer);
        agentAddress = await bind(agentServer, config.agentGrpcListen, security.agentCredentials);
      } else {
        agentService.addTo(server);
      }

      let kubeApi: KubeApiServer | undefined;
      if (config.kubeApiListen) {
        const kubeLog = log.child({ component: 'kube-api' });
        // Hooks a caller passes (tests) win over the ones SLIPWAY_KUBE_API_AUTH asks for.
        const auth = await kubeApiAuth(config, kubeLog);
        const started = await KubeApiServer.start(buildApi, buildLogs, {
          ...auth,
          ...deps.kubeApi,
          listen: config.kubeApiListen,
          log: kubeLog,
          clock,
        });
        closers.defer(() => started.stop());
        kubeApi = started;
      }

      const triggerLog = log.child({ component: 'triggers' });
      const imageChange = new ImageChangeTriggers(buildApi, triggerLog);
      // Read before the port opens: a token file that cannot be used stops the start.
      const notifications = config.registryNotifyTokenFile
        ? await RegistryNotifications.fromTokenFile(
            config.registryNotifyTokenFile,
            COORDINATOR_ENV.registryNotifyTokenFile,
            imageChange,
            triggerLog,
          )
        : undefined;
      const http = config.httpListen
        ? await startHttp(parts, config.httpListen, {
            logs: buildLogs,
            agents,
            tokens: security.tokens,
            notifications,
            builds,
          })
        : undefined;
      followNatsStatus(nc, log, { leases, health, http });
      const slots = await whileNatsUnavailable(log, 'open the slots bucket', () =>
        AgentSlots.open(nc, config.replicas, (key) => builds.get(key), {
          holdMs: config.placementTimeoutMs,
          readBuild: (key) => store.builds.getLatest(key),
          log: log.child({ component: 'agent-slots' }),
        }),
      );
      startBuildLoops(parts, { leases, history, contexts, configs, builds, slots });
      startTriggerLoops(parts, imageChange, triggerLog);
      health.set('SERVING');
      http?.setServing(true);
      log.info('coordinator started', {
        grpc: address,
        agentGrpc: agentAddress,
        tls: Boolean(config.grpcTlsCertFile),
        agentMutualTls: Boolean(security.agentCredentials),
        grpcTokens: security.tokens?.size ?? 'none (everyone allowed: local use only)',
        kubeApi: kubeApi?.address,
        http: http?.address,
        dashboard: http ? `${http.url}/ui/` : undefined,
        registryNotifications: notifications ? 'POST /webhooks/registry' : 'off',
        imagePollIntervalMs: config.imagePollIntervalMs,
        nats: config.natsServers,
        natsAuth: config.natsCredsFile ? 'creds file' : config.natsUser ? `user ${config.natsUser}` : 'none',
      });
      return new Coordinator(config, address, agentAddress, store, kubeApi, http, closers, shutdown, health, log);
    } catch (err) {
      await closers
        .close()
        .catch((closeErr: unknown) => log.warn('closing what had started failed', { error: errorMessage(closeErr) }));
      throw err;
    }
  }

  /**
   * Stops serving, stops the loops, closes NATS: the start-up stack unwound. Calls in flight get
   * up to `graceMs`. A second call waits for the first.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.shutdown.graceMs ??= graceMs;
    this.health.shuttingDown();
    this.http?.setServing(false);
    await this.closers.close();
    this.log.info('coordinator stopped');
  }
}

/** What the parts of a starting coordinator share. */
interface Parts {
  config: CoordinatorConfig;
  log: Logger;
  clock: () => Date;
  nc: NatsConnection;
  store: StateStore;
  closers: Closers;
  /** Ends every loop (and the dashboard's streams); each loop's closer aborts it and waits for it to end. */
  abort: AbortController;
  metrics: CoordinatorMetrics | undefined;
  secrets: SecretStore;
  buildApi: BuildApi;
}

/** The HTTP port and what it serves: metrics, registry notifications, webhooks, the dashboard. */
async function startHttp(
  p: Parts,
  listen: string,
  o: {
    logs: BuildLogs;
    agents: AgentRegistry;
    tokens: TokenAuthenticator | undefined;
    notifications: RegistryNotifications | undefined;
    builds: BuildCache;
  },
): Promise<HttpServer> {
  const { config, log, clock, closers, abort, metrics } = p;
  const http = await HttpServer.start({ listen, log: log.child({ component: 'http' }) });
  closers.defer(() => http.stop());
  if (metrics) {
    metrics.serveOn(http);
    deferLoop(closers, abort, metrics.watch(p.store, o.builds, abort.signal));
  }
  o.notifications?.addTo(http);
  registerWebhooks(http, { api: p.buildApi, secrets: p.secrets, log: log.child({ component: 'webhooks' }), clock });
  await registerDashboard(http, {
    builds: p.buildApi,
    logs: o.logs,
    agents: o.agents,
    tokens: o.tokens,
    log: log.child({ component: 'dashboard' }),
    stopping: abort.signal,
    clock,
    agentGraceMs: config.agentGraceMs,
  });
  // Its streams end when `abort` fires, before the port stops.
  closers.defer(() => abort.abort());
  return http;
}

/** The loops that drive builds: the build cache, the controller that syncs from it, the agent directory and the scheduler. */
function startBuildLoops(
  p: Parts,
  o: {
    leases: AgentLeases;
    history: BuildHistory;
    contexts: ContextStore;
    configs: ConfigCache;
    builds: BuildCache;
    slots: AgentSlots;
  },
): void {
  const { config, log, clock, nc, store, metrics, abort } = p;
  let scheduler: Scheduler | undefined;
  const { builds } = o;
  const controller = new BuildController(builds, o.leases, {
    ...defaultBuildControllerOptions(log.child({ component: 'build-controller' })),
    placeNow: (key, queued) => scheduler?.placeNow(key, queued) ?? Promise.resolve(undefined),
    onTerminal: async (b) => {
      // The config's history limits may now prune its oldest finished builds, with their logs.
      const pruning = o.history.pruneQuietly(b);
      // An uploaded context is of no more use once its build has ended (a platform build's is
      // its parent's, which the other platforms may still read: it goes when the parent ends).
      if (b.spec.config.source.binary?.object && !b.spec.parent)
        await o.contexts.delete(b.spec.config.source.binary.object);
      await pruning;
    },
    observer: metrics?.transitions,
    platforms: {
      coordinator: config.id,
      pushIndex: async (parent) =>
        pushPlatformIndex(parent, {
          credentials: parent.spec.config.output.pushSecret
            ? await p.secrets.reveal(parent.metadata.namespace, parent.spec.config.output.pushSecret.name)
            : undefined,
          insecureRegistries: config.insecureRegistries,
          signal: abort.signal,
        }),
      takeOverAfterMs: INDEX_PUSH_TAKEOVER_MS,
      newUid: randomUUID,
    },
    runSlots: new RunSlots(o.configs, builds, store.builds, clock),
    workers: config.controllerWorkers,
    resyncIntervalMs: config.resyncIntervalMs,
    leaseCheckIntervalMs: config.leaseCheckIntervalMs,
    clock,
  });
  const directory = new AgentDirectory(
    store.agents,
    { onChange: () => scheduler?.agentsChanged(), prepare: (agent) => ensureAgentJobConsumer(nc, agent) },
    log.child({ component: 'agent-directory' }),
  );
  scheduler = new Scheduler(builds, directory, natsJobQueue(nc), (ns, name) => p.secrets.exists(ns, name), {
    ...defaultSchedulerOptions(log.child({ component: 'scheduler' })),
    affinity: config.placementAffinity,
    affinityGraceMs: config.affinityGraceMs,
    unprivileged: new UnprivilegedPolicy(config.unprivilegedNamespaces),
    placementTimeoutMs: config.placementTimeoutMs,
    placementCheckMs: config.placementCheckMs,
    agentGraceMs: config.agentGraceMs,
    observer: metrics?.transitions,
    slots: o.slots,
    clock,
  });
  const retention = new AgentRetention(
    store.agents,
    { cache: builds, store: store.builds },
    {
      remove: (agent) => removeAgentJobConsumer(nc, agent),
      ensure: (agent) => ensureAgentJobConsumer(nc, agent),
      list: () => listAgentJobConsumers(nc),
    },
    natsSlotKeys(nc),
    {
      retentionMs: config.agentRetentionMs,
      slotHoldMs: config.placementTimeoutMs,
      clock,
      observer: metrics?.agentRemovals,
      log: log.child({ component: 'agent-retention' }),
    },
  );
  deferLoop(
    p.closers,
    abort,
    Promise.all([
      o.configs.run(abort.signal),
      o.leases.run(abort.signal),
      builds.run(abort.signal),
      controller.run(abort.signal),
      directory.run(abort.signal),
      o.slots.run(abort.signal),
      scheduler.run(abort.signal),
      retention.run(abort.signal),
    ]),
  );
}

/** The loops that start builds besides users: config changes, half-made triggered builds, image polling. */
function startTriggerLoops(p: Parts, imageChange: ImageChangeTriggers, triggerLog: Logger): void {
  const { config, log, clock, buildApi, abort } = p;
  const pendingBuilds = new PendingBuildSweeper(buildApi, {
    graceMs: config.pendingBuildGraceMs,
    intervalMs: sweepIntervalMs(config.pendingBuildGraceMs),
    log: log.child({ component: 'pending-builds' }),
    clock,
  });
  const triggerLoops = [
    new ConfigChangeTriggers(buildApi, triggerLog).run(abort.signal),
    pendingBuilds.run(abort.signal),
  ];
  if (config.imagePollIntervalMs > 0) {
    const poller = new ImagePoller(buildApi, imageChange, p.secrets, {
      intervalMs: config.imagePollIntervalMs,
      insecureRegistries: config.insecureRegistries.map(registryHostKey),
      log: triggerLog.child({ poller: true }),
    });
    triggerLoops.push(poller.run(abort.signal));
  }
  deferLoop(p.closers, abort, Promise.allSettled(triggerLoops));
}

/**
 * Closes the NATS connection: at once after a failed start (`graceMs` undefined); on a stop,
 * drained first (what was published is flushed), for at most `graceMs` (and a second at least),
 * so a drain that never ends cannot hold the stop.
 */
async function closeNats(nc: NatsConnection, graceMs: number | undefined): Promise<void> {
  if (graceMs === undefined) return nc.close();
  await settlesWithin(nc.drain(), Math.max(graceMs, 1000));
  if (!nc.isClosed()) await nc.close();
}

/**
 * The controller that ends every loop and stream. Each of them listens on its signal for as long
 * as it runs and stops listening when it ends (JsonStore.changes, sleepUnlessAborted), so its
 * listeners are as many as the loops and open streams at the time: more than Node's default of
 * 10 (which then warned of an EventTarget leak) and no leak.
 */
function everyLoopsAbort(): AbortController {
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  return abort;
}

/** Pushes the closer of a loop that runs until `abort` fires: abort, then wait for it to end. */
function deferLoop(closers: Closers, abort: AbortController, done: Promise<unknown>): void {
  closers.defer(async () => {
    abort.abort();
    await done;
  });
}

/**
 * Follows the NATS connection: serving while connected, NOT_SERVING while not; on a reconnect
 * the agents' leases restart their grace (their heartbeats could not arrive). Ends when NATS is closed.
 */
function followNatsStatus(
  nc: NatsConnection,
  log: Logger,
  parts: { leases: AgentLeases; health: HealthService; http: HttpServer | undefined },
): void {
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect') {
        log.info('reconnected to NATS; agent leases restart their grace');
        parts.leases.listening();
        parts.health.set('SERVING');
        parts.http?.setServing(true);
      } else if (s.type === 'disconnect') {
        parts.health.set('NOT_SERVING');
        parts.http?.setServing(false);
      }
    }
  })();
}

/**
 * How long a coordinator's index push of a build of several platforms may go unfinished before
 * another coordinator pushes it instead (the first stopped): well past a push's retries.
 */
const INDEX_PUSH_TAKEOVER_MS = 60_000;

/** How long a starting coordinator waits for JetStream to answer before it gives up. */
const NATS_START_PATIENCE_MS = 120_000;

/** Runs `step` again (backing off to 2 s) while NATS does not answer, up to NATS_START_PATIENCE_MS. */
async function whileNatsUnavailable<T>(log: Logger, what: string, step: () => Promise<T>): Promise<T> {
  const until = Date.now() + NATS_START_PATIENCE_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isNatsUnavailable(err) || Date.now() > until) throw err;
      log.warn(`JetStream did not answer; trying again to ${what}`, { error: errorMessage(err) });
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
}
