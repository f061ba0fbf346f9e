import { Counter, Gauge, Registry } from 'prom-client';
import type { Eviction } from './eviction.js';

/** The node cache's Prometheus metrics, in a registry of its own. */
export class NodeCacheMetrics {
  readonly registry = new Registry();
  private readonly hits = new Counter({
    name: 'slipway_node_cache_blob_hits_total',
    help: "Blob pulls served from the node's storage.",
    registers: [this.registry],
  });
  private readonly misses = new Counter({
    name: 'slipway_node_cache_blob_misses_total',
    help: 'Blob pulls the cache had to fetch from the upstream registry.',
    registers: [this.registry],
  });
  private readonly bytes = new Gauge({
    name: 'slipway_node_cache_bytes',
    help: "Bytes of blobs (layers, configs, manifests) in the cache's storage at the last sweep.",
    registers: [this.registry],
  });
  private readonly evictions = new Counter({
    name: 'slipway_node_cache_evictions_total',
    help: 'Blobs evicted, by why: expired (TTL) or over-limit (max bytes).',
    labelNames: ['why'],
    registers: [this.registry],
  });
  private readonly evictedBytes = new Counter({
    name: 'slipway_node_cache_evicted_bytes_total',
    help: 'Bytes of blobs evicted.',
    registers: [this.registry],
  });
  private readonly restarts = new Counter({
    name: 'slipway_node_cache_registry_restarts_total',
    help: 'Times the internal docker-registry was started again after it exited.',
    registers: [this.registry],
  });

  constructor(labels: { node: string }) {
    this.registry.setDefaultLabels(labels);
    // Present from the start, so a scrape sees 0 rather than nothing.
    this.evictions.inc({ why: 'expired' }, 0);
    this.evictions.inc({ why: 'over-limit' }, 0);
  }

  blobServed(hit: boolean): void {
    (hit ? this.hits : this.misses).inc();
  }

  swept(evicted: readonly Eviction[], bytesAfter: number): void {
    for (const e of evicted) {
      this.evictions.inc({ why: e.why });
      this.evictedBytes.inc(e.size);
    }
    this.bytes.set(bytesAfter);
  }

  registryRestarted(): void {
    this.restarts.inc();
  }
}
