import type Docker from 'dockerode';

/** What a Docker daemon holds, read from it (`system df`, containers, volumes) by the test itself. */
export interface DaemonHoldings {
  /**
   * Everything by `system df`: image layers, containers' writable layers, build cache beyond the
   * layers (records not shared with an image), volumes. The agent's GC counts the same.
   */
  bytes: number;
  images: number;
  containers: number;
  volumes: number;
  buildCacheRecords: number;
  /** Build cache records BuildKit says are in use now (a build holds them). */
  buildCacheInUse: number;
  buildCacheBytes: number;
}

export async function daemonHoldings(docker: Docker): Promise<DaemonHoldings> {
  const df = (await docker.df()) as {
    LayersSize?: number;
    Images?: unknown[] | null;
    BuildCache?: { Size: number; Shared: boolean; InUse: boolean }[] | null;
    Containers?: { SizeRw?: number }[] | null;
    Volumes?: { UsageData?: { Size: number } | null }[] | null;
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + Math.max(0, b), 0);
  const cache = df.BuildCache ?? [];
  const buildCacheBytes = sum(cache.filter((c) => !c.Shared).map((c) => c.Size));
  return {
    bytes:
      (df.LayersSize ?? 0) +
      buildCacheBytes +
      sum((df.Containers ?? []).map((c) => c.SizeRw ?? 0)) +
      sum((df.Volumes ?? []).map((v) => v.UsageData?.Size ?? 0)),
    images: (df.Images ?? []).length,
    containers: (df.Containers ?? []).length,
    volumes: (df.Volumes ?? []).length,
    buildCacheRecords: cache.length,
    buildCacheInUse: cache.filter((c) => c.InUse).length,
    buildCacheBytes,
  };
}
