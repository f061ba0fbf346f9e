/**
 * What a nats-server's version means for Slipway's state: every Build transition is a
 * compare-and-set (a publish with `Nats-Expected-Last-Subject-Sequence`), and on a replicated
 * stream servers before 2.10.0 check that expectation only before the write goes to the stream's
 * Raft group, so two writes at one revision that arrive together can both land
 * (nats-io/nats-server#4320; measured here on Debian's 2.9.10 with three servers: both of two
 * concurrent updates at one revision were accepted 1,668 times in 2,000). One server (R1) checks
 * under the stream's lock and is not affected.
 */

/** The release production needs (README.md, docs/deploying.md): the compare-and-set fix and Jepsen's fsync findings. */
export const PRODUCTION_NATS_VERSION = '2.10.23';

/** The first release whose replicated compare-and-set is serializable (nats-io/nats-server#4319). */
export const SERIALIZABLE_CAS_VERSION = '2.10.0';

/** `major.minor.patch` of a version string (`2.9.10`, `v2.10.23-RC.1`); undefined when it has none. */
export function parseServerVersion(version: string | undefined): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Whether `version` is `minimum` or later; false when it cannot be read. */
export function atLeast(version: string | undefined, minimum: string): boolean {
  const v = parseServerVersion(version);
  const min = parseServerVersion(minimum)!;
  if (!v) return false;
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

/**
 * Warnings for a coordinator keeping its state at `replicas` on a server of `version` (the one
 * it connected to; a cluster's servers normally run one release). None on one replica.
 */
export function stateStoreWarnings(version: string | undefined, replicas: number): string[] {
  if (replicas <= 1) return [];
  if (!atLeast(version, SERIALIZABLE_CAS_VERSION)) {
    return [
      `nats-server ${version ?? '(version unknown)'} does not serialize compare-and-sets on a replicated stream ` +
        `(nats-io/nats-server#4320, fixed in ${SERIALIZABLE_CAS_VERSION}): with ${replicas} replicas two coordinators ` +
        `can both change one build at once, so a build can be placed twice or a cancel undone; ` +
        `run nats-server ${PRODUCTION_NATS_VERSION} or later`,
    ];
  }
  if (!atLeast(version, PRODUCTION_NATS_VERSION)) {
    return [
      `nats-server ${version} is older than ${PRODUCTION_NATS_VERSION}, which production needs ` +
        `(with sync_interval: always: Jepsen found lazy fsync loses acknowledged writes)`,
    ];
  }
  return [];
}
