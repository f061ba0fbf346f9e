import { Counter, Registry } from 'prom-client';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { AgentRemovalObserver } from '../agents/agent-retention.js';
import type { TransitionObserver } from '../builds/transition-observer.js';
import type { HttpServer } from '../http/http-server.js';
import type { BuildCache } from '../store/build-cache.js';
import type { StateStore } from '../store/state-store.js';
import type { StoreEvent } from '../store/json-store.js';
import { AgentRecordMetrics } from './agent-record-metrics.js';
import { BuildMetrics } from './build-metrics.js';
import { GrpcMetrics } from './grpc-metrics.js';

export interface CoordinatorMetricsOptions {
  /** Labels on every series, e.g. { coordinator: id }. */
  labels: Record<string, string>;
  /** An agent silent longer than this is not live (SLIPWAY_AGENT_GRACE_MS). */
  agentGraceMs: number;
  clock: () => Date;
  log: Logger;
}

/**
 * The coordinator's Prometheus metrics, in a registry of its own, served at GET /metrics on the
 * coordinator's HTTP port. See ARCHITECTURE.md, "Metrics": events (counters, histograms) are
 * counted by the one coordinator whose compare-and-set made them, so they add up across
 * coordinators; state (gauges) comes from watches every coordinator runs, so it is the same on
 * each and aggregates with max.
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly builds = new BuildMetrics(this.registry);
  private readonly agents: AgentRecordMetrics;
  private readonly grpc = new GrpcMetrics(this.registry);
  private readonly agentsRemoved = new Counter({
    name: 'slipway_agents_removed_total',
    help: 'Agents gone for good (silent longer than SLIPWAY_AGENT_RETENTION_MS, no build on them) whose record, job consumer and slot keys this coordinator removed (counted by the one that removed each: sum across coordinators).',
    registers: [this.registry],
  });
  private readonly leftoversRemoved = new Counter({
    name: 'slipway_agent_leftovers_removed_total',
    help: 'Job consumers (kind="consumer") and slot keys (kind="slot") of agents with no record, left behind by a removal a coordinator did not finish, that this coordinator removed past SLIPWAY_AGENT_RETENTION_MS (sum across coordinators).',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  constructor(private readonly options: CoordinatorMetricsOptions) {
    this.registry.setDefaultLabels(options.labels);
    this.agents = new AgentRecordMetrics(this.registry, options.agentGraceMs, options.clock);
  }

  /** Where BuildApi, AgentReports and the build controller report the transitions they made. */
  get transitions(): TransitionObserver {
    return this.builds;
  }

  /** Where agent retention counts the agents, and the leftovers of agents, it removed. */
  get agentRemovals(): AgentRemovalObserver {
    return {
      agentRemoved: () => this.agentsRemoved.inc(),
      leftoverRemoved: (kind) => this.leftoversRemoved.inc({ kind }),
    };
  }

  /** The server interceptor that counts every gRPC call. */
  get grpcInterceptor() {
    return this.grpc.interceptor;
  }

  /**
   * Follows the Build and agents buckets for the gauges, until `signal` aborts: the builds
   * through the coordinator's build cache, whose watch sees every change of the bucket (one
   * watch of the bucket per coordinator, not two: each is a message per build write), the agents
   * with a watch of its own. A watch that fails is started again (it replays the bucket, so the
   * gauges are whole again). Call it before the build cache runs.
   */
  watch(store: StateStore, builds: BuildCache, signal: AbortSignal): Promise<void> {
    builds.subscribe({
      listed: () => {},
      changed: ({ key, build }) => this.builds.watched({ key, value: build, revision: 0 }),
    });
    const follow = async <T>(
      what: string,
      watch: () => AsyncIterable<StoreEvent<T>>,
      seen: (e: StoreEvent<T>) => void,
    ) => {
      while (!signal.aborted) {
        try {
          for await (const e of watch()) seen(e);
        } catch (err) {
          if (signal.aborted) return;
          this.options.log.warn(`metrics: the ${what} watch failed; restarting`, { error: errorMessage(err) });
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    return follow(
      'agents',
      () => store.agents.watch({ signal }),
      (e) => this.agents.watched(e),
    );
  }

  /** Serves GET /metrics on the coordinator's HTTP port. */
  serveOn(http: HttpServer): void {
    http.route('GET', '/metrics', async (_req, res) => {
      const text = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' }).end(text);
    });
  }
}
