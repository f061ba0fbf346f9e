import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { BuildConfig, Versioned } from '../../api/types.js';
import { mutateFrom, type JsonStore } from './json-store.js';

/**
 * The coordinator's watch cache of the BuildConfig bucket: every config at the newest revision
 * seen (or written through `mutate`). StartBuild takes a build number with a compare-and-set on
 * the config; read from here, that costs one request instead of three (a read to check the
 * request, a read for the compare-and-set, the write).
 *
 * Only for writes at the revision read: a held config may be behind the store (the watch has
 * not brought a change yet), and then the compare-and-set fails and `mutate` reads the store.
 * A decision not to write is never made on what this holds. Views (GetBuildConfig, lists) read
 * the store.
 */
export class ConfigCache {
  private readonly configs = new Map<string, Versioned<BuildConfig>>();

  constructor(
    private readonly store: JsonStore<BuildConfig>,
    private readonly log: Logger,
  ) {}

  /** Watches the bucket until `signal` aborts, restarting the watch when it fails. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const event of this.store.watch({ signal })) {
          if (event.value) this.remember(event.key, { value: event.value, revision: event.revision });
          else this.configs.delete(event.key);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn('config watch failed; restarting', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** The config as last seen here, possibly behind the store; undefined when none is held. */
  get(key: string): Versioned<BuildConfig> | undefined {
    return this.configs.get(key);
  }

  /** JsonStore.mutate from the config held here (mutateFrom): usually one write, no read. */
  mutate(
    key: string,
    change: (current: BuildConfig) => BuildConfig | undefined,
  ): Promise<Versioned<BuildConfig> | undefined> {
    return mutateFrom(this.store, key, this.configs.get(key), change, (e) => this.remember(key, e));
  }

  private remember(key: string, entry: Versioned<BuildConfig>): void {
    const known = this.configs.get(key);
    if (!known || entry.revision > known.revision) this.configs.set(key, entry);
  }
}
