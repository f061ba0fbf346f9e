/** A blob in the cache's storage. */
export interface CachedBlob {
  digest: string;
  size: number;
  /** When it was last stored or served (ms since the epoch). */
  lastAccessMs: number;
  /** Manifests count toward the storage used but are never evicted; layers and configs are "blob". */
  kind: 'blob' | 'manifest';
}

export interface Eviction {
  digest: string;
  size: number;
  why: 'expired' | 'over-limit';
}

export interface EvictionPlan {
  evict: Eviction[];
  /** Storage used before and after the plan is carried out. */
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * What a sweep removes: first every blob not accessed for `ttlMs` (a blob accessed exactly
 * `ttlMs` ago stays), then the least recently accessed of the rest until the storage used is at
 * most `maxBytes`. Manifests are never chosen; when they alone exceed the limit the plan ends
 * above it. Ties in access time go by digest, so a plan is the same for the same input.
 */
export function planEviction(blobs: readonly CachedBlob[], now: number, ttlMs: number, maxBytes: number): EvictionPlan {
  const bytesBefore = blobs.reduce((sum, b) => sum + b.size, 0);
  const candidates = blobs
    .filter((b) => b.kind === 'blob')
    .sort((a, b) => a.lastAccessMs - b.lastAccessMs || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const evict: Eviction[] = [];
  let used = bytesBefore;
  for (const b of candidates) {
    if (now - b.lastAccessMs > ttlMs) evict.push({ digest: b.digest, size: b.size, why: 'expired' });
    else if (used > maxBytes) evict.push({ digest: b.digest, size: b.size, why: 'over-limit' });
    else break; // Sorted oldest first: every later blob is younger and fits.
    used -= b.size;
  }
  return { evict, bytesBefore, bytesAfter: used };
}
