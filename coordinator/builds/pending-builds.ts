import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { sleepUnlessAborted } from '../../common/sleep.js';
import type { BuildConfig, PendingBuild } from '../../api/types.js';
import type { BuildApi } from './build-api.js';

export interface PendingBuildSweeperOptions {
  /** How long a pending build may take to appear before a sweeper makes it. */
  graceMs: number;
  /** How often the pending records seen are checked. */
  intervalMs: number;
  log: Logger;
  clock?: () => Date;
}

/**
 * How often a sweeper looks at the pending records for a given grace: twice per grace, so a
 * record is swept at most half a grace late, but never more often than every 100 ms nor less
 * often than every 5 s.
 */
export function sweepIntervalMs(graceMs: number): number {
  return Math.max(100, Math.min(5000, graceMs / 2));
}

/**
 * Finishes triggered starts that a coordinator began and did not end. A trigger's event (a
 * webhook delivery, an image digest, a config generation) is recorded in the same
 * compare-and-set that takes the build's number, together with a pending record of the build
 * (build-api.ts); the build is created just after. A coordinator that dies in between would lose
 * the event: it is recorded as handled, and no build exists. Every coordinator watches the
 * configs' pending records, and one older than the grace whose build does not exist is made
 * from the record (same number, same uid: if its first creator was only slow, one of the two
 * creates wins and the other takes that build as its own). A record whose build exists, or whose
 * name was deleted, is dropped.
 */
export class PendingBuildSweeper {
  /** Configs with pending records, by `namespace/name`, as last seen. */
  private readonly configs = new Map<string, BuildConfig>();
  private readonly clock: () => Date;

  constructor(
    private readonly builds: BuildApi,
    private readonly options: PendingBuildSweeperOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Watches and sweeps until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const sweeping = (async () => {
      while (!signal.aborted) {
        await sleepUnlessAborted(this.options.intervalMs, signal);
        if (!signal.aborted) await this.sweep();
      }
    })();
    while (!signal.aborted) {
      try {
        const snapshot = await this.builds.snapshotBuildConfigs();
        this.configs.clear();
        for (const c of snapshot.items) this.see(c.value);
        for await (const change of this.builds.buildConfigChanges(snapshot.revision, signal)) {
          if (change.value) this.see(change.value);
          else this.configs.delete(change.key.replace('.', '/'));
        }
      } catch (err) {
        if (signal.aborted) break;
        this.options.log.warn('pending-build watch broke; watching again', { error: errorMessage(err) });
        await sleepUnlessAborted(1000, signal);
      }
    }
    await sweeping;
  }

  private see(config: BuildConfig): void {
    const key = `${config.metadata.namespace}/${config.metadata.name}`;
    if (config.status.pendingBuilds?.length) this.configs.set(key, config);
    else this.configs.delete(key);
  }

  /** One pass over the pending records older than the grace. Safe on every coordinator at once. */
  async sweep(): Promise<void> {
    const due = this.clock().getTime() - this.options.graceMs;
    for (const config of [...this.configs.values()]) {
      const late = (config.status.pendingBuilds ?? []).filter((p) => new Date(p.reservedAt).getTime() <= due);
      for (const pending of late) {
        try {
          await this.finish(config, pending);
        } catch (err) {
          this.options.log.warn('could not finish a pending build; will try again', {
            namespace: config.metadata.namespace,
            config: config.metadata.name,
            number: pending.number,
            error: errorMessage(err),
          });
        }
      }
    }
  }

  private async finish(config: BuildConfig, pending: PendingBuild): Promise<void> {
    const { namespace, name } = config.metadata;
    const made = await this.builds.createPendingBuild(config, pending);
    this.options.log.debug('pending build settled', {
      namespace,
      config: name,
      number: pending.number,
      exists: made !== undefined,
    });
    // Made now, made earlier, or its name deleted: either way the record has done its work.
    await this.builds.updateBuildConfigStatus(namespace, name, (c) => {
      const left = (c.status.pendingBuilds ?? []).filter((p) => p.number !== pending.number);
      if (left.length === (c.status.pendingBuilds ?? []).length) return undefined;
      return { ...c.status, pendingBuilds: left.length > 0 ? left : undefined };
    });
  }
}
