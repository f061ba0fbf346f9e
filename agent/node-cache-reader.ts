import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { parsePrometheusText, sumOf } from '../common/metrics/prometheus-text.js';

/** The node cache's blob counters (node-cache/metrics.ts), as last read. */
export interface NodeCacheFigures {
  hits: number;
  misses: number;
  /** Whether the last read succeeded (the counts are then from it; otherwise from the one before). */
  readable: boolean;
}

const HITS = 'slipway_node_cache_blob_hits_total';
const MISSES = 'slipway_node_cache_blob_misses_total';

/**
 * Reads the node cache's hit and miss counters from its /metrics (SLIPWAY_NODE_CACHE_METRICS_URL)
 * for the agent's heartbeats and metrics. A read that fails keeps the last figures and is logged
 * once until a read succeeds again.
 */
export class NodeCacheReader {
  private last: NodeCacheFigures = { hits: 0, misses: 0, readable: false };
  private reading: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly timeoutMs = 2000,
  ) {}

  get figures(): NodeCacheFigures {
    return this.last;
  }

  /** Reads the counters again, or joins the read under way. Never throws. */
  refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<void> {
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) throw new Error(`it answered ${res.status}`);
      const families = parsePrometheusText(await res.text());
      const hits = sumOf(families, HITS);
      const misses = sumOf(families, MISSES);
      if (hits === undefined || misses === undefined)
        throw new Error(`it serves no ${HITS} and ${MISSES}: is it a node cache's?`);
      this.last = { hits, misses, readable: true };
      if (this.failing) this.log.info("reading the node cache's metrics again", { url: this.url });
      this.failing = false;
    } catch (err) {
      this.last = { ...this.last, readable: false };
      if (!this.failing)
        this.log.warn("cannot read the node cache's metrics; keeping the last figures", {
          url: this.url,
          error: errorMessage(err),
        });
      this.failing = true;
    }
  }
}
