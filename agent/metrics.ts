import { Counter, Gauge, Registry } from 'prom-client';
import type { GcObserver, GcRound } from './gc/image-gc.js';

/** The agent's Prometheus metrics, in a registry of its own. */
export class AgentMetrics implements GcObserver {
  readonly registry = new Registry();
  private readonly gcRounds = new Counter({ name: 'slipway_agent_gc_runs_total', help: 'Image GC rounds, by what started them.', labelNames: ['trigger'], registers: [this.registry] });
  private readonly gcReclaimed = new Counter({ name: 'slipway_agent_gc_reclaimed_bytes_total', help: 'Bytes the image GC freed.', registers: [this.registry] });
  private readonly gcImages = new Counter({ name: 'slipway_agent_gc_images_removed_total', help: 'Images the image GC removed.', registers: [this.registry] });
  private readonly gcContainers = new Counter({ name: 'slipway_agent_gc_containers_removed_total', help: 'Stopped build containers the GC removed.', registers: [this.registry] });
  private readonly usage = new Gauge({ name: 'slipway_agent_image_disk_usage_bytes', help: 'Image disk usage at the last GC round (layers, or the image filesystem for percentage thresholds).', registers: [this.registry] });
  private readonly high = new Gauge({ name: 'slipway_agent_gc_high_threshold_bytes', help: 'Usage above which the image GC collects.', registers: [this.registry] });
  private readonly low = new Gauge({ name: 'slipway_agent_gc_low_threshold_bytes', help: 'Usage the image GC collects down to.', registers: [this.registry] });

  constructor(labels: { agent: string; node: string }) {
    this.registry.setDefaultLabels(labels);
  }

  observe(round: GcRound): void {
    this.gcRounds.inc({ trigger: round.trigger });
    this.gcReclaimed.inc(round.reclaimedBytes);
    this.gcImages.inc(round.imagesRemoved);
    this.gcContainers.inc(round.containersRemoved);
    this.usage.set(round.usageAfter);
    this.high.set(round.high);
    this.low.set(round.low);
  }
}
