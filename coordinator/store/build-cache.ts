import { ConflictError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { objectKey } from '../../common/nats/names.js';
import { isTerminal, type Build, type Versioned } from '../../api/types.js';
import { mutateFrom, type JsonStore } from './json-store.js';

/** A change the watch brought, as handed to the cache's handlers once the cache holds it. */
export interface BuildChange {
  key: string;
  /** The build as written; undefined when it was deleted. */
  build: Build | undefined;
  /** What the cache held for the key before this change; undefined when it held nothing (new, or ended before). */
  before: Build | undefined;
}

/** What is told of the watch's progress (the build controller is one). */
export interface BuildCacheHandler {
  /**
   * The watch has now listed every build as of its start; called before the change that
   * completed the listing is handed over, and again after each restart of the watch.
   */
  listed(): void;
  /** Every change the watch brings, once the cache holds it. Runs inside the watch: it must not block. */
  changed(change: BuildChange): void;
}

/** What placement (placement/scheduler.ts) reads and writes builds through. */
export interface BuildsView {
  /** Whether the watch has listed every build as of its start: until then running builds may be missing. */
  readonly listedAll: boolean;
  /** The builds not yet terminal, at the newest revision this coordinator knows. */
  unfinishedBuilds(): Iterable<[string, Versioned<Build>]>;
  /** Writes a build at `revision` (compare-and-set); a lost race makes its next read come from the store. */
  update(key: string, next: Build, revision: number): Promise<number>;
  /**
   * Calls `listener` whenever the state held of a build changes, from the watch or a write here
   * (undefined: none is held now, it ended or was deleted), with every build held so far first.
   * It runs inside the cache: it must not block.
   */
  onHeld(listener: HeldListener): void;
}

/** Told of each change of the state a BuildCache holds of a build. */
export type HeldListener = (key: string, entry: Versioned<Build> | undefined) => void;

/**
 * The coordinator's watch cache of the Build bucket, like a client-go informer: it watches the
 * bucket and holds every build not yet terminal at the newest revision seen (or written here),
 * indexed by config. The build controller syncs from it and the scheduler places from it; the
 * store is read again only for a build whose last write here lost its compare-and-set (it is
 * "stale") or that the cache does not hold.
 *
 * A terminal build is dropped when the watch brings its terminal revision, not when this
 * coordinator writes it, so each handler sees every build end exactly once.
 */
export class BuildCache implements BuildsView {
  /** Builds not yet terminal, by key, at the newest revision seen. */
  private readonly unfinished = new Map<string, Versioned<Build>>();
  /** Keys whose last write lost a compare-and-set: their next read comes from the store. */
  private readonly stale = new Set<string>();
  /** The keys in `unfinished`, by config (`<namespace>.<configName>`). */
  private readonly byConfig = new Map<string, Set<string>>();
  /**
   * Whether the watch has listed every build's state as of its start. Its listing comes in the
   * order of each build's last write, so until it is complete a build created earlier may be
   * missing.
   */
  private listed = false;
  private readonly handlers: BuildCacheHandler[] = [];
  private readonly heldListeners: HeldListener[] = [];

  constructor(
    private readonly builds: JsonStore<Build>,
    private readonly log: Logger,
  ) {}

  /** Adds a handler; handlers are called in the order they were added. Add them before run(). */
  subscribe(handler: BuildCacheHandler): void {
    this.handlers.push(handler);
  }

  /** Watches the Build bucket until `signal` aborts, restarting the watch when it fails. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        this.listed = false;
        for await (const event of this.builds.watch({ signal })) {
          if (!event.replaying && !this.listed) {
            this.listed = true;
            for (const h of this.handlers) h.listed();
          }
          const before = this.unfinished.get(event.key)?.value;
          if (event.value && !isTerminal(event.value.status.phase)) {
            this.remember(event.key, { value: event.value, revision: event.revision });
          } else {
            this.stale.delete(event.key);
            this.forget(event.key);
          }
          for (const h of this.handlers) h.changed({ key: event.key, build: event.value, before });
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn('build watch failed; restarting', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  onHeld(listener: HeldListener): void {
    this.heldListeners.push(listener);
    for (const [key, entry] of this.unfinished) listener(key, entry);
  }

  get listedAll(): boolean {
    return this.listed;
  }

  unfinishedBuilds(): Iterable<[string, Versioned<Build>]> {
    return this.unfinished.entries();
  }

  /** The state held of an unfinished build, stale or not; undefined when none is held. Never reads the store. */
  get(key: string): Versioned<Build> | undefined {
    return this.unfinished.get(key);
  }

  /** Whether the held state of `key` is known to be behind the store (see markStale). */
  isStale(key: string): boolean {
    return this.stale.has(key);
  }

  /** The keys of the unfinished builds of `build`'s config (itself included when held), as of now. */
  unfinishedOfConfig(build: Build): string[] {
    return [...(this.byConfig.get(configKey(build)) ?? [])];
  }

  /**
   * The newest state known of a build: the watch's (or this coordinator's own write's), or the
   * store's when the cache holds none or holds a stale one. An ended or deleted build read from
   * the store is returned but not held, and stays stale until the watch reports it.
   */
  async read(key: string): Promise<Versioned<Build> | undefined> {
    const seen = this.unfinished.get(key);
    if (seen && !this.stale.has(key)) return seen;
    // From the leader: this read follows a lost compare-and-set, or is of a build not seen yet.
    const stored = await this.builds.getLatest(key);
    if (stored && !isTerminal(stored.value.status.phase)) {
      this.stale.delete(key);
      this.remember(key, stored);
    }
    return stored;
  }

  /**
   * Creates a build whose name was never used (JsonStore.createUnused) and holds it.
   * @throws AlreadyExistsError
   */
  async create(key: string, build: Build): Promise<number> {
    const revision = await this.builds.createUnused(key, build);
    this.remember(key, { value: build, revision });
    return revision;
  }

  async update(key: string, next: Build, revision: number): Promise<number> {
    try {
      const written = await this.builds.update(key, next, revision);
      this.remember(key, { value: next, revision: written });
      return written;
    } catch (err) {
      if (err instanceof ConflictError) this.markStale(key);
      throw err;
    }
  }

  /**
   * JsonStore.mutate from the state held here (mutateFrom): usually one write, no read. A build
   * held stale, or not held, is read from the store first.
   */
  mutate(key: string, change: (current: Build) => Build | undefined): Promise<Versioned<Build> | undefined> {
    const held = this.stale.has(key) ? undefined : this.unfinished.get(key);
    return mutateFrom(this.builds, key, held, change, (e) => {
      this.stale.delete(key);
      this.remember(key, e);
    });
  }

  /**
   * Marks a held build as behind the store (a write lost its compare-and-set, or this
   * coordinator ended it and the watch has not brought that yet): its next read() comes from
   * the store. A build not held is read from the store anyway, so it is not marked.
   */
  markStale(key: string): void {
    if (this.unfinished.has(key)) this.stale.add(key);
  }

  /** Keeps the newer of what is held and `entry`; a terminal build is dropped only when the watch brings it. */
  private remember(key: string, entry: Versioned<Build>): void {
    if (isTerminal(entry.value.status.phase)) return;
    const known = this.unfinished.get(key);
    if (!known || entry.revision > known.revision) {
      this.unfinished.set(key, entry);
      // A platform build is part of its parent, not a build of the config of its own (run policy).
      if (!entry.value.spec.parent) {
        const config = configKey(entry.value);
        let keys = this.byConfig.get(config);
        if (!keys) this.byConfig.set(config, (keys = new Set()));
        keys.add(key);
      }
      for (const l of this.heldListeners) l(key, entry);
    }
  }

  /** Drops an ended or deleted build. */
  private forget(key: string): void {
    const known = this.unfinished.get(key);
    if (!known) return;
    this.unfinished.delete(key);
    const config = configKey(known.value);
    const keys = this.byConfig.get(config);
    keys?.delete(key);
    if (keys?.size === 0) this.byConfig.delete(config);
    for (const l of this.heldListeners) l(key, undefined);
  }
}

/** Key of a build's config: `<namespace>.<configName>`. */
export function configKey(build: Build): string {
  return objectKey(build.metadata.namespace, build.spec.configName);
}
