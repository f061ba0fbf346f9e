import { parseQuantity } from '../../common/quantity.js';
import type { DiskUsage } from '../container-runtime/types.js';

/** A disk-usage threshold: a share of what the daemon may fill, or a number of bytes. */
export type Threshold = { percent: number } | { bytes: number };

/** "85%" or a quantity of bytes ("20Gi"). @returns the threshold, or why the text is not one. */
export function parseThreshold(text: string): Threshold | string {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct) {
    const percent = Number(pct[1]);
    return percent <= 100 ? { percent } : `"${text}" is more than 100%`;
  }
  const bytes = parseQuantity(text);
  if (bytes === undefined || bytes < 0)
    return `"${text}" is neither a percentage ("85%") nor a number of bytes ("20Gi")`;
  return { bytes: Math.floor(bytes) };
}

/** The threshold's number: percent or bytes. */
export function thresholdValue(t: Threshold): number {
  return 'percent' in t ? t.percent : t.bytes;
}

/**
 * A capacity for the GC ("50Gi": the size limit of the volume a private daemon stores in) in
 * whole bytes. @returns the bytes, or why the text is not a capacity (at least one byte).
 */
export function parseCapacity(text: string): number | string {
  const bytes = parseQuantity(text);
  if (bytes === undefined || !Number.isFinite(bytes)) return `"${text}" is not a Kubernetes quantity ("50Gi")`;
  return bytes >= 1 ? Math.floor(bytes) : `"${text}" is less than one byte`;
}

/** One round's usage and thresholds, all in bytes. */
export interface GcLevels {
  used: number;
  high: number;
  low: number;
}

/**
 * Usage against the thresholds, in bytes: byte thresholds as given; percentages of `total` (the
 * capacity, or the size of the image filesystem).
 * @throws Error when the thresholds are of different kinds, or percentages come without a total
 *   (configuration checks refuse both before a collector starts).
 */
export function gcLevels(thresholds: { high: Threshold; low: Threshold }, used: number, total?: number): GcLevels {
  const { high, low } = thresholds;
  if ('bytes' in high && 'bytes' in low) return { used, high: high.bytes, low: low.bytes };
  if (!('percent' in high && 'percent' in low))
    throw new Error('the GC thresholds must both be percentages or both bytes');
  if (total === undefined) throw new Error('percentage GC thresholds need a capacity or a filesystem to be of');
  return { used, high: (total * high.percent) / 100, low: (total * low.percent) / 100 };
}

/**
 * Everything the daemon holds by `system df`: image layers, containers' writable layers,
 * BuildKit's cache beyond the layers, and volumes. What it does not report (its own metadata,
 * containers' logs) is not in it.
 */
export function daemonHeldBytes(df: DiskUsage): number {
  return df.layersBytes + df.containersBytes + df.buildCacheBytes + df.volumesBytes;
}
