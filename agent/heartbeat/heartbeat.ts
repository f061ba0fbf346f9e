import { availableParallelism, totalmem } from 'node:os';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { parseQuantity } from '../../common/quantity.js';
import type { RunningAttempts } from '../attempts/running-attempts.js';
import type { AgentConfig } from '../config.js';
import type { CoordinatorClient } from '../coordinator-client.js';
import type { Isolation } from '../../common/isolation.js';
import type { AgentMetrics } from '../metrics.js';
import type { NodeCacheReader } from '../node-cache-reader.js';
import type { WarmSet } from '../warm-set.js';
import type { BuildJob } from '../../common/nats/names.js';

export interface HeartbeatOptions {
  config: Pick<AgentConfig, 'name' | 'node' | 'concurrency' | 'cpu' | 'memory' | 'heartbeatIntervalMs'>;
  /** This run of the agent: a restarted agent cannot take over its earlier claims. */
  instance: string;
  client: CoordinatorClient;
  /** The attempts it runs: advertised, and stopped when the answer says so. */
  running: RunningAttempts;
  /** The labels advertised for placement, as they are now. */
  nodeLabels: () => Record<string, string>;
  /** Whether its node is cordoned, as last read (false when the agent does not read it). */
  cordoned: () => boolean;
  /** Whether the agent is stopping: placement takes back what is placed here and places nothing new. */
  draining: () => boolean;
  metrics: Pick<AgentMetrics, 'cacheFigures'>;
  /** The node cache's counters, read again after each heartbeat; undefined: none configured. */
  nodeCache?: NodeCacheReader;
  /** Configs built and images used here, for placement's cache affinity. */
  warm: WarmSet;
  /** Whether its executor holds a Dockerfile build to its resources (`Executor.limitsDockerfileBuilds`). */
  limitsDockerfileBuilds: boolean;
  /** Whether its executor starts a daemon of a build's own (`Executor.daemonPerBuild`). */
  daemonPerBuild: boolean;
  /** Given the attempts the answer says are placed here and unclaimed, to claim (`JobLoop.offer`). */
  claimPlaced: (jobs: BuildJob[]) => void;
  /** What its builds' root is on the node (`Executor.isolation`), asked before each heartbeat. */
  isolation: () => Promise<Isolation>;
  log: Logger;
}

/**
 * Tells the coordinator that the agent is alive and what it offers placement (labels, capacity,
 * allocatable resources, cache figures, the warm set, whether it can hold a Dockerfile build to
 * its resources, whether its builds run in a user namespace), every `heartbeatIntervalMs` and
 * whenever something changed; carries out the stop orders the answer brings back, and hands on
 * the placements it names that this agent has not claimed (their jobs not delivered). A
 * heartbeat that does not get through is not retried: the next one is the retry.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: HeartbeatOptions) {}

  /** Sends one heartbeat now, then one every interval until `stop`. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.o.config.heartbeatIntervalMs);
  }

  /** No more heartbeats on the interval (`beat` still sends one). */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Sends a heartbeat now and carries out its stop orders; never throws (a failure is logged). */
  async beat(): Promise<void> {
    const { config, running, log } = this.o;
    // Read for the next heartbeat: this one sends what the last read found.
    void this.o.nodeCache?.refresh();
    try {
      const isolation = await this.o.isolation();
      const res = await this.o.client.heartbeat({
        agent: config.name,
        node: config.node,
        instance: this.o.instance,
        running: running.refs(),
        nodeLabels: this.o.nodeLabels(),
        cordoned: this.o.cordoned(),
        capacity: config.concurrency,
        cache: this.o.metrics.cacheFigures(),
        allocatable: allocatable(config),
        draining: this.o.draining(),
        warmConfigs: this.o.warm.advertised.configs,
        warmImages: this.o.warm.advertised.images,
        limitsDockerfileBuilds: this.o.limitsDockerfileBuilds,
        daemonPerBuild: this.o.daemonPerBuild,
        // `unknown` is what not saying counts as: it is not sent.
        isolation: isolation === 'unknown' ? '' : isolation,
      });
      for (const order of res.stop) {
        const r = order.build && running.get(order.build);
        if (!r) continue;
        log.info('coordinator says stop', {
          build: `${r.ref.namespace}/${r.ref.name}`,
          attempt: r.ref.attempt,
          why: order.why,
        });
        running.stop(r, order.why === 'Cancelled' ? 'Cancelled' : 'Lost');
      }
      const placed = res.unclaimed.flatMap((u) =>
        u.build
          ? [{ namespace: u.build.namespace, build: u.build.name, attempt: u.build.attempt, placement: u.placement }]
          : [],
      );
      if (placed.length > 0) this.o.claimPlaced(placed);
    } catch (err) {
      log.warn('heartbeat did not get through', { error: errorMessage(err) });
    }
  }
}

/** What its node offers builds' resources: SLIPWAY_AGENT_CPU and _MEMORY, else the machine's. */
function allocatable(config: Pick<AgentConfig, 'cpu' | 'memory'>): { cpuMillis: number; memoryBytes: number } {
  const cpu = config.cpu ? parseQuantity(config.cpu)! : availableParallelism();
  const memory = config.memory ? parseQuantity(config.memory)! : totalmem();
  return { cpuMillis: Math.round(cpu * 1000), memoryBytes: Math.round(memory) };
}
