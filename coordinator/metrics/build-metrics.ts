import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BUILD_PHASES, type Build, type BuildPhase } from '../../api/types.js';
import type { TransitionObserver } from '../builds/transition-observer.js';
import type { StoreEvent } from '../store/json-store.js';

/** Builds take seconds to hours. */
const BUILD_SECONDS_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
/** Waiting for an agent: sub-second when one is free, minutes when all are busy. */
const QUEUE_SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * A reason as a label value: the stable CamelCase reasons Slipway gives. Agents report reasons
 * as text, so anything else is "Other" rather than a new series per odd string.
 */
export function reasonLabel(reason: string | undefined): string {
  if (!reason) return '';
  return /^[A-Z][A-Za-z0-9]{0,63}$/.test(reason) ? reason : 'Other';
}

const seconds = (from: string | undefined, to: string | undefined): number | undefined => {
  if (!from || !to) return undefined;
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(s) ? Math.max(0, s) : undefined;
};

/**
 * Metrics of builds. Two kinds, which add up differently across coordinators:
 *
 * - **Events** (counters, histograms) are observed where the transition's compare-and-set
 *   landed (TransitionObserver), so each is counted by exactly one coordinator: sum them.
 * - **State** (gauges) is what the Build bucket holds, from a watch every coordinator runs, so
 *   every coordinator shows the same numbers: aggregate with max, never sum.
 */
export class BuildMetrics implements TransitionObserver {
  /** Phase and reason of every stored build, by key, as the watch last saw it. */
  private readonly builds = new Map<string, { phase: BuildPhase; reason: string }>();
  private readonly createdTotal: Counter<'cause'>;
  private readonly finishedTotal: Counter<'phase' | 'reason'>;
  private readonly duration: Histogram<'phase'>;
  private readonly queueDuration: Histogram;

  constructor(registry: Registry) {
    const builds = this.builds;
    new Gauge({
      name: 'slipway_builds',
      help: 'Builds stored now, by phase and reason (the Build bucket; every coordinator shows the same: aggregate with max, not sum).',
      labelNames: ['phase', 'reason'],
      registers: [registry],
      collect(this: Gauge<'phase' | 'reason'>) {
        this.reset();
        for (const phase of BUILD_PHASES) this.set({ phase, reason: '' }, 0);
        for (const b of builds.values()) this.inc({ phase: b.phase, reason: b.reason });
      },
    });
    new Gauge({
      name: 'slipway_build_queue_depth',
      help: 'Pending builds: waiting for an agent to claim them (every coordinator shows the same: aggregate with max, not sum).',
      registers: [registry],
      collect(this: Gauge) {
        let pending = 0;
        for (const b of builds.values()) if (b.phase === 'Pending') pending++;
        this.set(pending);
      },
    });
    this.createdTotal = new Counter({
      name: 'slipway_builds_created_total',
      help: 'Builds created, by cause (Manual, GitHub, ImageChange, …). Each counted by the one coordinator that created it: sum over coordinators.',
      labelNames: ['cause'],
      registers: [registry],
    });
    this.finishedTotal = new Counter({
      name: 'slipway_builds_finished_total',
      help: 'Builds that ended, by phase (Complete, Failed, Error, Cancelled) and reason. Each counted by the one coordinator whose compare-and-set ended it: sum over coordinators.',
      labelNames: ['phase', 'reason'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'slipway_build_duration_seconds',
      help: "Time from a build's start (claimed by an agent) to its end, by final phase; builds that never started are not observed. Sum over coordinators.",
      labelNames: ['phase'],
      buckets: BUILD_SECONDS_BUCKETS,
      registers: [registry],
    });
    this.queueDuration = new Histogram({
      name: 'slipway_build_queue_duration_seconds',
      help: "Time an attempt waited for an agent: from the build's creation (first attempt) or from when a retry was queued, to its claim. Sum over coordinators.",
      buckets: QUEUE_SECONDS_BUCKETS,
      registers: [registry],
    });
    this.createdTotal.inc({ cause: 'Manual' }, 0);
    // Series that exist in every installation, present from the start so rates see their first increase.
    this.finishedTotal.inc({ phase: 'Complete', reason: '' }, 0);
    this.finishedTotal.inc({ phase: 'Cancelled', reason: 'Cancelled' }, 0);
  }

  /** A change the Build bucket's watch saw. */
  watched(event: StoreEvent<Build>): void {
    if (event.value)
      this.builds.set(event.key, { phase: event.value.status.phase, reason: reasonLabel(event.value.status.reason) });
    else this.builds.delete(event.key);
  }

  created(build: Build): void {
    this.createdTotal.inc({ cause: reasonLabel(build.spec.triggeredBy?.[0]?.type ?? 'Manual') });
  }

  started(build: Build): void {
    const s = build.status;
    const from =
      s.attempt > 1 ? (s.queuedTimestamp ?? build.metadata.creationTimestamp) : build.metadata.creationTimestamp;
    const waited = seconds(from, s.startTimestamp);
    if (waited !== undefined) this.queueDuration.observe(waited);
  }

  finished(build: Build): void {
    const { phase, reason, startTimestamp, completionTimestamp } = build.status;
    this.finishedTotal.inc({ phase, reason: reasonLabel(reason) });
    const ran = seconds(startTimestamp, completionTimestamp);
    if (ran !== undefined) this.duration.observe({ phase }, ran);
  }
}
