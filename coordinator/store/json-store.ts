import type { KV, KvEntry } from '@nats-io/kv';
import { AlreadyExistsError, ConflictError } from '../../common/errors.js';
import { isNatsUnavailable } from '../../common/grpc/status.js';
import type { Versioned } from '../api/types.js';

/** JetStream's error code for a compare-and-set that named the wrong revision. */
const WRONG_LAST_SEQUENCE = 10071;

/** A change seen by a watch: the new value, or undefined when the key was deleted. */
export interface StoreEvent<T> {
  key: string;
  revision: number;
  value: T | undefined;
}

/**
 * Typed JSON objects in a JetStream KV bucket. Writes are only `create` (fails if the key
 * exists) and `update` at a named revision (fails if anything wrote since): there is no blind
 * put, so two writers can never both think they won.
 */
export class JsonStore<T> {
  constructor(
    private readonly kv: KV,
    /** Used in error messages, e.g. "Build". */
    readonly kind: string,
  ) {}

  async get(key: string): Promise<Versioned<T> | undefined> {
    const entry = await this.kv.get(key);
    return entry ? decode<T>(entry) : undefined;
  }

  /** @throws AlreadyExistsError when the key holds a value. */
  async create(key: string, value: T): Promise<number> {
    try {
      return await this.kv.create(key, JSON.stringify(value));
    } catch (err) {
      if (isWrongRevision(err)) throw new AlreadyExistsError(this.kind, key);
      throw err;
    }
  }

  /** @throws ConflictError when the key is no longer at `revision`. */
  async update(key: string, value: T, revision: number): Promise<number> {
    try {
      return await this.kv.update(key, JSON.stringify(value), revision);
    } catch (err) {
      if (isWrongRevision(err)) throw new ConflictError(key, revision, { cause: err });
      throw err;
    }
  }

  /** Deletes the key only if it is still at `revision`. @throws ConflictError otherwise. */
  async delete(key: string, revision: number): Promise<void> {
    try {
      await this.kv.delete(key, { previousSeq: revision });
    } catch (err) {
      if (isWrongRevision(err)) throw new ConflictError(key, revision, { cause: err });
      throw err;
    }
  }

  /**
   * Read-modify-write until it lands: `change` gets the current value and returns the next one,
   * or undefined to leave it as it is. It may run more than once, so it must be pure.
   * @returns the stored result, or undefined when the key does not exist.
   */
  async mutate(key: string, change: (current: T) => T | undefined): Promise<Versioned<T> | undefined> {
    for (;;) {
      const current = await this.get(key);
      if (!current) return undefined;
      const next = change(current.value);
      if (next === undefined) return current;
      try {
        return { value: next, revision: await this.update(key, next, current.revision) };
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  }

  /** Every object whose key matches the subject-style `filter` (e.g. `default.>`). */
  async list(filter = '>'): Promise<Versioned<T>[]> {
    // A key written while the listing runs comes again at its new revision: list it once.
    const keys = new Set<string>();
    for await (const k of await this.kv.keys(filter)) keys.add(k);
    const values = await Promise.all([...keys].map((k) => this.get(k)));
    return values.filter((v): v is Versioned<T> => v !== undefined);
  }

  /**
   * The current value of every matching key, then every change, until `signal` aborts.
   * Deleted keys come as events with an undefined value. A watch that breaks (NATS restarting,
   * a reconnect) is started again from the revision after the last one seen, so nothing is
   * missed or repeated.
   */
  async *watch(options: { filter?: string; signal?: AbortSignal; updatesOnly?: boolean; retryMs?: number } = {}): AsyncIterable<StoreEvent<T>> {
    let last = 0;
    while (!options.signal?.aborted) {
      let watcher;
      try {
        watcher = await this.kv.watch({
          key: options.filter ?? '>',
          include: options.updatesOnly && last === 0 ? 'updates' : '',
          ...(last > 0 ? { resumeFromRevision: last + 1 } : {}),
        });
      } catch (err) {
        if (options.signal?.aborted) return;
        if (!isNatsUnavailable(err)) throw err;
        await new Promise((r) => setTimeout(r, options.retryMs ?? 500));
        continue;
      }
      const stop = () => watcher.stop();
      options.signal?.addEventListener('abort', stop, { once: true });
      try {
        for await (const entry of watcher) {
          if (entry.revision <= last) continue;
          last = entry.revision;
          yield {
            key: entry.key,
            revision: entry.revision,
            value: entry.operation === 'PUT' ? (entry.json<T>() as T) : undefined,
          };
        }
        return;
      } catch (err) {
        if (options.signal?.aborted) return;
        if (!isNatsUnavailable(err)) throw err;
      } finally {
        options.signal?.removeEventListener('abort', stop);
        watcher.stop();
      }
    }
  }
}

function decode<T>(entry: KvEntry): Versioned<T> | undefined {
  if (entry.operation !== 'PUT') return undefined;
  return { value: entry.json<T>(), revision: entry.revision };
}

function isWrongRevision(err: unknown): boolean {
  const e = err as { code?: unknown; apiError?: () => { err_code?: number } };
  if (typeof e?.apiError === 'function') return e.apiError()?.err_code === WRONG_LAST_SEQUENCE;
  return e?.code === WRONG_LAST_SEQUENCE;
}
