import { ConflictError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { objectKey } from '../../common/nats/names.js';
import { isTerminal, type Build, type BuildConfigSpec, type Versioned } from '../../api/types.js';
import { buildNumber } from '../build-controller/run-policy.js';
import type { LogPurger } from '../logs/log-purge.js';
import type { ConfigCache } from '../store/config-cache.js';
import type { StateStore } from '../store/state-store.js';

/** How many finished builds of a config to keep; undefined: all. */
export interface HistoryLimits {
  /** Complete builds. */
  successful?: number;
  /** Failed, Error and Cancelled builds. */
  failed?: number;
}

export function historyLimits(spec: BuildConfigSpec): HistoryLimits {
  return { successful: spec.successfulBuildsHistoryLimit, failed: spec.failedBuildsHistoryLimit };
}

/**
 * The builds of one config to prune: of the ended ones, those beyond the newest `successful`
 * Complete and the newest `failed` Failed, Error or Cancelled, by completionTimestamp (the build
 * number breaks ties; a build without one counts as oldest). A build that has not ended is never
 * among them. Pure.
 */
export function buildsToPrune<T extends Versioned<Build>>(builds: T[], limits: HistoryLimits): T[] {
  const newestFirst = (a: T, b: T) =>
    (b.value.status.completionTimestamp ?? '').localeCompare(a.value.status.completionTimestamp ?? '') ||
    (buildNumber(b.value) ?? 0) - (buildNumber(a.value) ?? 0);
  const beyond = (kept: T[], limit: number | undefined) =>
    limit === undefined ? [] : kept.sort(newestFirst).slice(limit);
  const ended = builds.filter((b) => isTerminal(b.value.status.phase));
  return [
    ...beyond(
      ended.filter((b) => b.value.status.phase === 'Complete'),
      limits.successful,
    ),
    ...beyond(
      ended.filter((b) => b.value.status.phase !== 'Complete'),
      limits.failed,
    ),
  ];
}

/**
 * Keeps each config's history of finished builds within its limits
 * (`successfulBuildsHistoryLimit`, `failedBuildsHistoryLimit`). After a build of a config ends,
 * `pruneAfter` lists the config's builds and deletes the oldest finished ones beyond the limits,
 * each with its logs. The limits are the config's as it is now (a lowered limit applies from the
 * next build that ends), or the ended build's frozen copy when the config is gone.
 *
 * Every coordinator runs it for every build that ends, at once: each delete is a
 * compare-and-set at the revision listed, so one of them deletes a build and the others get a
 * conflict; a build found gone then just has its logs purged again (a no-op once done). A build
 * changed since it was listed (a label) is left for the next round.
 */
export class BuildHistory {
  constructor(
    private readonly store: StateStore,
    private readonly logs: LogPurger,
    private readonly log: Logger,
    /** Where the config's limits are read; undefined: from the store. */
    private readonly configs?: ConfigCache,
  ) {}

  /** Prunes the history of `ended`'s config. Resolves with the names of the builds it deleted. */
  async pruneAfter(ended: Build): Promise<string[]> {
    const { namespace } = ended.metadata;
    const configName = ended.spec.configName;
    const key = objectKey(namespace, configName);
    // The cache may be a change behind: a lowered limit then applies from the next build that ends.
    const config = this.configs?.get(key) ?? (await this.store.buildConfigs.get(key));
    const limits = historyLimits(config?.value.spec ?? ended.spec.config);
    if (limits.successful === undefined && limits.failed === undefined) return [];

    const prefix = `${objectKey(namespace, configName)}-`;
    const listed = (await this.store.builds.list(`${namespace}.*`, (key) => key.startsWith(prefix)))
      .filter((b) => b.value.spec.configName === configName)
      .map((b) => ({ ...b, key: objectKey(namespace, b.value.metadata.name) }));
    // Platform builds count as part of their parent: they go with it, or once it is gone.
    const builds = listed.filter((b) => !b.value.spec.parent);
    const pruned = buildsToPrune(builds, limits);
    const pruning = new Set(pruned.map((b) => b.value.metadata.name));
    const kept = new Set(builds.map((b) => b.value.metadata.name).filter((n) => !pruning.has(n)));
    const platformBuilds = listed.filter(
      (b) => b.value.spec.parent && !kept.has(b.value.spec.parent) && isTerminal(b.value.status.phase),
    );
    const deleted: string[] = [];
    for (const b of [...pruned, ...platformBuilds]) {
      let ours = true;
      try {
        await this.store.builds.delete(b.key, b.revision);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        // Someone changed it since the listing (the next round sees it again), or another
        // coordinator deleted it: purge its logs too, in case that one stopped before it did.
        if (await this.store.builds.getLatest(b.key)) continue;
        ours = false;
      }
      await this.logs.purge(b.value);
      if (ours) {
        deleted.push(b.value.metadata.name);
        this.log.info('pruned a finished build and its logs', {
          build: `${namespace}/${b.value.metadata.name}`,
          phase: b.value.status.phase,
        });
      }
    }
    return deleted;
  }

  /** pruneAfter, logging instead of throwing: for the controller's onTerminal. */
  async pruneQuietly(ended: Build): Promise<void> {
    await this.pruneAfter(ended).catch((err: unknown) =>
      this.log.warn('pruning build history failed; the next build that ends tries again', {
        build: `${ended.metadata.namespace}/${ended.metadata.name}`,
        error: errorMessage(err),
      }),
    );
  }
}
