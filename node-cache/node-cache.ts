import { hostname } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../common/errors.js';
import { createLogger, type Logger } from '../common/log.js';
import { serveMetrics, type MetricsServer } from '../common/metrics/metrics-server.js';
import type { ResolvedNodeCacheConfig } from './config.js';
import { planEviction, type EvictionPlan } from './eviction.js';
import { CacheFront } from './front.js';
import { NodeCacheMetrics } from './metrics.js';
import { RegistryProcess } from './registry-process.js';
import { CacheStorage } from './storage.js';

export interface NodeCacheDeps {
  log?: Logger;
  /** The clock sweeps judge last access by. */
  now?: () => number;
  /** How long the internal registry may take to answer at start. */
  registryStartTimeoutMs?: number;
}

/**
 * The per-node caching proxy: a supervised docker-registry in proxy mode behind a front that
 * counts hits and misses, and a periodic sweep that evicts blobs past the TTL and then the least
 * recently used ones down to the storage limit. Private daemons name the front as their
 * registry mirror (agent: SLIPWAY_REGISTRY_MIRRORS).
 */
export class NodeCache {
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<EvictionPlan> | undefined;
  private stopped = false;

  private constructor(
    private readonly config: ResolvedNodeCacheConfig,
    readonly registry: RegistryProcess,
    private readonly front: CacheFront,
    readonly storage: CacheStorage,
    readonly metrics: NodeCacheMetrics,
    private readonly metricsServer: MetricsServer | undefined,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** host:port of the mirror. */
  get address(): string {
    return this.front.address;
  }

  /** host:port of /metrics, when served. */
  get metricsAddress(): string | undefined {
    return this.metricsServer?.address;
  }

  static async start(config: ResolvedNodeCacheConfig, deps: NodeCacheDeps = {}): Promise<NodeCache> {
    const log = deps.log ?? createLogger({ component: 'node-cache' }, { level: config.logLevel });
    const metrics = new NodeCacheMetrics({ node: hostname() });
    const registry = await RegistryProcess.start({
      binary: config.registryBinary,
      root: path.resolve(config.root),
      upstream: config.upstream,
      username: config.upstreamUsername,
      password: config.upstreamPassword,
      startTimeoutMs: deps.registryStartTimeoutMs ?? 30_000,
      log,
      onRestart: () => metrics.registryRestarted(),
    });
    const storage = new CacheStorage(registry.storageRoot);
    let front: CacheFront | undefined;
    let metricsServer: MetricsServer | undefined;
    try {
      front = await CacheFront.start({
        listen: config.listen,
        registry: registry.address,
        storage,
        observer: metrics,
        log,
      });
      if (config.metricsListen) metricsServer = await serveMetrics(metrics.registry, config.metricsListen);
    } catch (err) {
      await front?.close();
      await registry.stop();
      throw err;
    }
    const cache = new NodeCache(config, registry, front, storage, metrics, metricsServer, log, deps.now ?? Date.now);
    log.info('node cache started', {
      listen: front.address,
      upstream: config.upstream,
      authenticated: config.upstreamUsername !== '',
      maxBytes: config.maxBytesValue,
      ttlMs: config.ttlMs,
      metrics: metricsServer?.address,
    });
    await cache.sweep().catch((err: unknown) => log.error('sweep failed', { error: errorMessage(err) }));
    cache.scheduleSweep();
    return cache;
  }

  /**
   * One eviction round now (or the one already running): blobs past the TTL, then the least
   * recently used down to the limit. Manifests stay. Returns what it planned.
   */
  sweep(): Promise<EvictionPlan> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<EvictionPlan> {
    const plan = planEviction(await this.storage.blobs(), this.now(), this.config.ttlMs, this.config.maxBytesValue);
    for (const e of plan.evict) {
      await this.storage.removeBlob(e.digest);
      this.log.info('evicted a blob', { digest: e.digest, size: e.size, why: e.why });
    }
    this.metrics.swept(plan.evict, plan.bytesAfter);
    return plan;
  }

  private scheduleSweep(): void {
    if (this.stopped || this.config.sweepIntervalMs === 0) return;
    this.sweepTimer = setTimeout(() => {
      this.sweep().then(
        () => this.scheduleSweep(),
        (err: unknown) => {
          this.log.error('sweep failed', { error: errorMessage(err) });
          this.scheduleSweep();
        },
      );
    }, this.config.sweepIntervalMs);
  }

  /** Stops serving, sweeping and the registry; nothing of it keeps running. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    await this.sweeping?.catch(() => {});
    await this.front.close();
    await this.metricsServer?.close();
    await this.registry.stop();
    this.log.info('node cache stopped');
  }
}
