import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GcObserver, GcRound } from './gc/image-gc.js';
import type { NodeCacheFigures } from './node-cache-reader.js';

/** Builds take seconds to hours (the coordinator's slipway_build_duration_seconds has the same buckets). */
const BUILD_SECONDS_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

export interface AgentMetricsOptions {
  labels: { agent: string; node: string };
  /** Builds the agent runs at once at most (its concurrency). */
  capacity: number;
  /** Builds running now. */
  running: () => number;
  /** The node cache's figures as last read; undefined when the agent does not read them. */
  nodeCache?: () => NodeCacheFigures | undefined;
}

/** What the agent sends in its heartbeats' `cache` field. */
export interface CacheFigures {
  imageBytes: number;
  gcReclaimedBytes: number;
  nodeCacheHits: number;
  nodeCacheMisses: number;
}

/** The agent's Prometheus metrics, in a registry of its own. */
export class AgentMetrics implements GcObserver {
  readonly registry = new Registry();
  private readonly gcRounds = new Counter({
    name: 'slipway_agent_gc_runs_total',
    help: 'Image GC rounds, by what started them.',
    labelNames: ['trigger'],
    registers: [this.registry],
  });
  private readonly gcReclaimed = new Counter({
    name: 'slipway_agent_gc_reclaimed_bytes_total',
    help: 'Bytes the image GC freed.',
    registers: [this.registry],
  });
  private readonly gcImages = new Counter({
    name: 'slipway_agent_gc_images_removed_total',
    help: 'Images the image GC removed.',
    registers: [this.registry],
  });
  private readonly gcContainers = new Counter({
    name: 'slipway_agent_gc_containers_removed_total',
    help: 'Stopped build containers the GC removed.',
    registers: [this.registry],
  });
  private readonly gcPrunesSkipped = new Counter({
    name: 'slipway_agent_gc_build_cache_prunes_skipped_total',
    help: 'Build-cache prunes the image GC left for a later round: builds were sending their contexts for all of the wait.',
    registers: [this.registry],
  });
  private readonly usage = new Gauge({
    name: 'slipway_agent_image_disk_usage_bytes',
    help: 'Image disk usage at the last GC round: layers and build cache (byte thresholds), all the daemon holds (with a GC capacity), or the image filesystem.',
    registers: [this.registry],
  });
  private readonly high = new Gauge({
    name: 'slipway_agent_gc_high_threshold_bytes',
    help: 'Usage above which the image GC collects.',
    registers: [this.registry],
  });
  private readonly low = new Gauge({
    name: 'slipway_agent_gc_low_threshold_bytes',
    help: 'Usage the image GC collects down to.',
    registers: [this.registry],
  });
  private readonly finishedTotal = new Counter({
    name: 'slipway_agent_builds_finished_total',
    help: 'Builds this agent ran to an outcome the coordinator accepted, by the phase and reason it reported.',
    labelNames: ['phase', 'reason'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'slipway_agent_build_duration_seconds',
    help: 'Time from the claim of a build to its outcome (before the report), by the phase reported.',
    labelNames: ['phase'],
    buckets: BUILD_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  /** Totals for the heartbeat: prom-client's counters are write-only. */
  private reclaimedTotal = 0;
  private imageBytes = 0;

  constructor(private readonly options: AgentMetricsOptions) {
    this.registry.setDefaultLabels(options.labels);
    new Gauge({
      name: 'slipway_agent_capacity',
      help: 'Builds this agent runs at once at most (SLIPWAY_AGENT_CONCURRENCY).',
      registers: [this.registry],
    }).set(options.capacity);
    new Gauge({
      name: 'slipway_agent_running_builds',
      help: 'Builds this agent runs now.',
      registers: [this.registry],
      collect(this: Gauge) {
        this.set(options.running());
      },
    });
    this.finishedTotal.inc({ phase: 'Complete', reason: '' }, 0);
    const nodeCache = options.nodeCache;
    if (nodeCache) {
      // The node cache's own counters, passed on as last read (they restart from 0 with it).
      const mirror = (name: string, help: string, value: (f: NodeCacheFigures) => number) =>
        new Counter({
          name,
          help,
          registers: [this.registry],
          collect(this: Counter) {
            this.reset();
            const f = nodeCache();
            if (f) this.inc(value(f));
          },
        });
      mirror(
        'slipway_agent_node_cache_hits_total',
        "Blob pulls the node's cache served from storage, as the agent last read them from its /metrics.",
        (f) => f.hits,
      );
      mirror(
        'slipway_agent_node_cache_misses_total',
        "Blob pulls the node's cache fetched from the upstream, as the agent last read them from its /metrics.",
        (f) => f.misses,
      );
      new Gauge({
        name: 'slipway_agent_node_cache_readable',
        help: "1 when the agent's last read of the node cache's /metrics succeeded, else 0.",
        registers: [this.registry],
        collect(this: Gauge) {
          this.set(nodeCache()?.readable ? 1 : 0);
        },
      });
    }
  }

  observe(round: GcRound): void {
    this.gcRounds.inc({ trigger: round.trigger });
    this.gcReclaimed.inc(round.reclaimedBytes);
    this.gcImages.inc(round.imagesRemoved);
    this.gcContainers.inc(round.containersRemoved);
    this.gcPrunesSkipped.inc(round.buildCachePrunesSkipped);
    this.usage.set(round.usageAfter);
    this.high.set(round.high);
    this.low.set(round.low);
    this.reclaimedTotal += round.reclaimedBytes;
    this.imageBytes = round.daemonBytes;
  }

  /** A build's outcome, once the coordinator accepted it. */
  buildFinished(phase: string, reason: string, seconds: number): void {
    this.finishedTotal.inc({ phase, reason });
    this.duration.observe({ phase }, seconds);
  }

  /**
   * What the heartbeat tells the coordinator: all its daemon holds (`system df`: images,
   * containers, build cache, volumes) at the last GC round, not the disk the daemon is on (0
   * before the first round, and with GC off), bytes the GC freed since the agent started, and
   * the node cache's counters as last read (0 when not read).
   */
  cacheFigures(): CacheFigures {
    const f = this.options.nodeCache?.();
    return {
      imageBytes: Math.round(this.imageBytes),
      gcReclaimedBytes: Math.round(this.reclaimedTotal),
      nodeCacheHits: f?.hits ?? 0,
      nodeCacheMisses: f?.misses ?? 0,
    };
  }
}
