import {
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { AlreadyExistsError, ConflictError, InvalidInputError, RevisionExpiredError } from '../../common/errors.js';
import { releaseConsumer } from '../../common/nats/consumers.js';
import { isNatsUnavailable } from '../../common/grpc/status.js';
import { streamPublisher, type StreamPublisher } from '../../common/nats/stream-publisher.js';
import type { Versioned } from '../../api/types.js';
import { keyOf, sortKey } from './key-order.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { WrittenRevisions } from './written-revisions.js';

/** JetStream's error code for a compare-and-set that named the wrong revision. */
const WRONG_LAST_SEQUENCE = 10071;

/** A change seen by a watch: the new value, or undefined when the key was deleted. */
export interface StoreEvent<T> {
  key: string;
  revision: number;
  /** A watch's event decodes it when it is first read. */
  readonly value: T | undefined;
  /**
   * watch() only: set on the events of its first listing of current values, except the last.
   * Those come in the order of each key's last write, not of the keys' creation; once an event
   * without it has come, every key's state as of the watch's start has been seen.
   */
  replaying?: boolean;
}

/**
 * A change read from the bucket's stream: like StoreEvent, and whether it created the key.
 * Every write here names the revision it expects (0 for a create), and JetStream keeps that
 * header with the message, so a creation is known without remembering earlier state.
 */
export interface StoreChange<T> extends StoreEvent<T> {
  created: boolean;
  /** For a deletion: the value it deleted (undefined if the history no longer holds it). */
  deleted?: T;
}

/** Objects as of one revision of the bucket, and that revision. */
export interface StoreSnapshot<T> {
  items: Versioned<T>[];
  revision: number;
}

/** What a page of a listing asks for (JsonStore.listPage). */
export interface PageRequest<T> {
  /** The keys listed, subject-style (e.g. `default.*`). */
  filter: string;
  /** The filter and whatever else the listing selects by, kept in its tokens (e.g. `default.*?phase=Running`). */
  scope: string;
  /** Most items on the page (at least 1). */
  size: number;
  /** The previous page's `nextToken`; undefined for the first page. */
  token?: string;
  /** What the token is called where it came from (`pageToken`, `continue`), for errors about it. */
  tokenField: string;
  /** Which values the listing holds (checked once the value is read); undefined: every one. */
  accept?: (key: string, value: T) => boolean;
}

/** A page of a listing in key order (key-order.ts). */
export interface StorePage<T> {
  items: Versioned<T>[];
  /** Where the next page starts; undefined on the last page. */
  nextToken?: string;
  /**
   * Keys left after this page as of its listing, before `accept` and deleted ones among them:
   * what the next pages hold at most (the Kubernetes API's estimate, remainingItemCount).
   */
  remaining: number;
  /** The bucket's revision before the listing's first page was read. */
  revision: number;
}

/** Where the bucket's stream is: for reading changes with their headers and from its leader, and for writes. */
export interface BucketStream {
  js: JetStreamClient;
  bucket: string;
  /** Publishes the writes (the KV client's own `put` is a nats.js request each: stream-publisher.ts). */
  publisher: StreamPublisher;
}

/** The bucket's stream on `nc`. */
export function bucketStream(nc: NatsConnection, bucket: string): BucketStream {
  return { js: jetstream(nc), bucket, publisher: streamPublisher(nc) };
}

const EXPECTED_LAST_SUBJECT_SEQUENCE = 'Nats-Expected-Last-Subject-Sequence';
/** The header marking a KV message as a deletion or purge (absent on a value). */
const KV_OPERATION = 'KV-Operation';

/** nats-server's default max_payload (1 MiB) less room for a message's headers. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024 - 8 * 1024;

/**
 * Typed JSON objects in a JetStream KV bucket. Writes are only `create` (fails if the key
 * exists) and `update` at a named revision (fails if anything wrote since): there is no blind
 * put, so two writers can never both think they won.
 *
 * Reads see this store's own writes (read-your-writes for everything one coordinator wrote):
 * `get`, and the listings and snapshots made of it, may be answered by a replica that is
 * behind, but an answer older than a write made through this store (WrittenRevisions, the
 * newest 10,000 keys written) is read again from the stream leader. Writes made elsewhere (another
 * coordinator) may still be seen late.
 */
export class JsonStore<T> {
  constructor(
    private readonly kv: KV,
    /** Used in error messages, e.g. "Build". */
    readonly kind: string,
    private readonly stream: BucketStream,
    /** Most bytes a stored value may have: less than the server's max_payload, for the headers. */
    private readonly maxValueBytes = DEFAULT_MAX_VALUE_BYTES,
  ) {}

  /** Whether the bucket's stream answers direct gets (any replica answers a read): the KV client's own test. */
  private get direct(): boolean {
    return (this.kv as { direct?: unknown }).direct === true;
  }

  /** For reads from the stream leader; made on first use. */
  private manager?: Promise<JetStreamManager>;
  /** What this store wrote, so that its reads never show less (read-your-writes). */
  private readonly written = new WrittenRevisions();
  /** The last key listing kept by sortedKeys: its filter, the bucket's revision then, and its keys in sort order. */
  private keyListing?: { filter: string; revision: number; sorted: string[] };
  /** The newest RECENT_WRITES keys written here, with the bytes and value of each one's last few writes: see WatchEvent. */
  private readonly recent = new Map<string, RecentWrite<T>[]>();

  /** The value as stored. @throws InvalidInputError when it is too large for a message. */
  private encode(value: T): Buffer {
    const data = Buffer.from(JSON.stringify(value));
    const bytes = data.length;
    if (bytes > this.maxValueBytes) {
      throw new InvalidInputError(
        [
          {
            field: '(object)',
            message: `would be ${bytes} bytes stored; a ${this.kind} may have at most ${this.maxValueBytes}`,
          },
        ],
        this.kind,
      );
    }
    return data;
  }

  /**
   * Publishes `data` as the key's next value, stored only if the key's last message is at
   * `expected` (0: the key was never written, or its history no longer holds it).
   * @returns the new revision. @throws JetStreamApiError 10071 when the key is not at `expected`.
   */
  private async write(key: string, data: Buffer, value: T, expected: number): Promise<number> {
    const recent = this.recent.get(key) ?? [];
    recent.push({ data, value });
    if (recent.length > RECENT_WRITES_A_KEY) recent.shift();
    this.recent.delete(key);
    this.recent.set(key, recent);
    if (this.recent.size > RECENT_WRITES) this.recent.delete(this.recent.keys().next().value!);
    const ack = await this.stream.publisher.publish(`$KV.${this.stream.bucket}.${key}`, data, {
      expectedLastSubjectSequence: expected,
    });
    return ack.seq;
  }

  /** The bucket's latest revision: the stream's last sequence (0 when nothing was ever written). */
  async latestRevision(): Promise<number> {
    return (await this.kv.status()).streamInfo.state.last_seq;
  }

  /**
   * The value as one replica holds it: on a cluster, any replica answers (a direct get), and one
   * that has not caught up (a follower one commit behind, or just restarted) answers with an
   * older revision or none. Never older than this store's own last write of the key, though: such
   * an answer is read again from the leader. Good for showing state and for a write at the
   * revision read, which fails if it was not the latest; a decision not to write must be
   * confirmed with getLatest (another coordinator's write may be missing).
   */
  async get(key: string): Promise<Versioned<T> | undefined> {
    const found = await this.replicaGet(key);
    if (this.written.isBehind(key, found?.revision)) return this.getLatest(key);
    return found;
  }

  /**
   * The key's value as one replica holds it: a direct get through the publisher when the bucket
   * allows them (as the KV client's get does, without its request's cost), else the KV client's.
   */
  private async replicaGet(key: string): Promise<Versioned<T> | undefined> {
    if (!this.direct) {
      const entry = await this.kv.get(key);
      return entry ? decode<T>(entry) : undefined;
    }
    validKey(key);
    const bucket = this.stream.bucket;
    const m = await this.stream.publisher.lastBySubject(`KV_${bucket}`, `$KV.${bucket}.${key}`);
    if (!m || (m.header(KV_OPERATION) || 'PUT') !== 'PUT') return undefined;
    return { value: this.parse(key, m.data), revision: m.seq };
  }

  /** A stored value of `key`: the value written here when the bytes are one of this store's recent writes. */
  private parse(key: string, data: Uint8Array): T {
    return (
      this.ownWrite(key, data) ??
      (JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as T)
    );
  }

  /** The value of this store's recent write of `key` whose bytes are `data`, if one is. */
  private ownWrite(key: string, data: Uint8Array): T | undefined {
    for (const w of this.recent.get(key) ?? []) if (w.data.equals(data)) return w.value;
    return undefined;
  }

  /** The value as the bucket's stream leader holds it: the latest revision, at a request's cost. */
  async getLatest(key: string): Promise<Versioned<T> | undefined> {
    const stored = await this.latestMessage(key);
    if (!stored || !holdsValue(stored)) return undefined;
    return { value: stored.json<T>(), revision: stored.seq };
  }

  /** The key's last message (a value or a deletion), as the stream leader answers a message get. */
  private async latestMessage(key: string): Promise<StoredMsg | null> {
    // No API check: it would be a request more, and a failed one would stay cached.
    this.manager ??= this.stream.js.jetstreamManager(false);
    return (await this.manager).streams.getMessage(`KV_${this.stream.bucket}`, {
      last_by_subj: `$KV.${this.stream.bucket}.${key}`,
    });
  }

  /**
   * Whether the key held a value that was deleted (its delete marker is kept: nothing here
   * purges). Read from the leader: a name is given again, or not, on the answer.
   */
  async wasDeleted(key: string): Promise<boolean> {
    const stored = await this.latestMessage(key);
    return stored !== null && !holdsValue(stored);
  }

  /** @throws AlreadyExistsError when the key holds a value. */
  async create(key: string, value: T): Promise<number> {
    validKey(key);
    const data = this.encode(value);
    try {
      let revision: number;
      try {
        revision = await this.write(key, data, value, 0);
      } catch (err) {
        // Written before: it may be a deletion, which a create writes over (as the KV client's create does).
        if (!isWrongRevision(err)) throw err;
        const last = await this.latestMessage(key);
        if (!last || holdsValue(last)) throw err;
        revision = await this.write(key, data, value, last.seq);
      }
      this.written.wrote(key, revision);
      return revision;
    } catch (err) {
      if (isWrongRevision(err)) throw new AlreadyExistsError(this.kind, key);
      throw err;
    }
  }

  /**
   * Creates the key only if it was never written: no value, and no deletion either (its marker
   * is kept: nothing here purges). One request, where wasDeleted and create are two.
   * @throws AlreadyExistsError when the key holds a value or held one that was deleted.
   */
  async createUnused(key: string, value: T): Promise<number> {
    try {
      validKey(key);
      const revision = await this.write(key, this.encode(value), value, 0);
      this.written.wrote(key, revision);
      return revision;
    } catch (err) {
      if (isWrongRevision(err)) throw new AlreadyExistsError(this.kind, key);
      throw err;
    }
  }

  /** @throws ConflictError when the key is no longer at `revision`. */
  async update(key: string, value: T, revision: number): Promise<number> {
    try {
      validKey(key);
      if (!(revision > 0))
        throw new Error(`a revision to update ${this.kind} ${key} at must be above 0, not ${revision}`);
      const written = await this.write(key, this.encode(value), value, revision);
      this.written.wrote(key, written);
      return written;
    } catch (err) {
      if (isWrongRevision(err)) throw new ConflictError(key, revision, { cause: err });
      throw err;
    }
  }

  /** Deletes the key only if it is still at `revision`. @throws ConflictError otherwise. */
  async delete(key: string, revision: number): Promise<void> {
    try {
      await this.kv.delete(key, { previousSeq: revision });
      this.written.deleted(key, revision);
    } catch (err) {
      if (isWrongRevision(err)) throw new ConflictError(key, revision, { cause: err });
      throw err;
    }
  }

  /**
   * Read-modify-write until it lands: `change` gets the current value and returns the next one,
   * or undefined to leave it as it is. It may run more than once, so it must be pure.
   * A write names the revision it read, so a stale read only costs a retry. Not writing is
   * decided on the latest revision: the first read may come from a replica that is behind, on
   * which a key looks missing or a step looks done (an agent's repeated claim of a build that
   * has since completed looked like a claim still running, and the build ran twice).
   * @returns the stored result, or undefined when the key does not exist.
   */
  async mutate(key: string, change: (current: T) => T | undefined): Promise<Versioned<T> | undefined> {
    for (let latest = false; ; latest = true) {
      const current = latest ? await this.getLatest(key) : await this.get(key);
      const next = current && change(current.value);
      if (next === undefined) {
        if (latest) return current;
        continue;
      }
      try {
        return { value: next, revision: await this.update(key, next, current!.revision) };
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  }

  /**
   * Every object whose key matches the subject-style `filter` (e.g. `default.>`) and, when
   * given, `where` (checked on the key before its value is read).
   */
  async list(filter = '>', where?: (key: string) => boolean): Promise<Versioned<T>[]> {
    return (await this.listKeyed(filter, where)).map(([, v]) => v);
  }

  private async listKeyed(filter: string, where?: (key: string) => boolean): Promise<[string, Versioned<T>][]> {
    // A key written while the listing runs comes again at its new revision: list it once.
    const keys = new Set<string>();
    for await (const k of await this.kv.keys(filter)) if (!where || where(k)) keys.add(k);
    // The key listing comes from a replica too: one behind misses keys this store just created.
    for (const k of this.written.present((k) => (!where || where(k)) && keyMatches(filter, k))) keys.add(k);
    const values = await Promise.all([...keys].map(async (k) => [k, await this.get(k)] as const));
    return values.filter((e): e is [string, Versioned<T>] => e[1] !== undefined);
  }

  /**
   * One page of the objects whose keys match `filter`, in key order (key-order.ts), each read
   * at its latest revision when its page is read. A page reads every matching key (small) but
   * only its own values, a page's worth at a time: a listing of any length holds one page.
   * Deleted keys (their markers stay in the stream) are read and passed over, each once a listing.
   * The token is the key to go on after, so under concurrent writes each key is listed at
   * most once: one created meanwhile is listed if it sorts after the page it came during, and
   * one deleted meanwhile is not listed if its page had not been read yet.
   * @throws InvalidPageTokenError when `token` was not given for this kind and scope.
   */
  async listPage(req: PageRequest<T>): Promise<StorePage<T>> {
    const cursor = req.token
      ? decodePageToken(req.token, { kind: this.kind, scope: req.scope }, req.tokenField)
      : undefined;
    const latest = await this.latestRevision();
    const revision = cursor?.revision ?? latest;
    const after = cursor?.after;
    const from = after === undefined ? '' : sortKey(after);
    const sorted = await this.sortedKeys(req.filter, latest);
    // The first key after `from` (sorted holds each key once).
    let lo = 0;
    for (let hi = sorted.length; lo < hi;) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= from) lo = mid + 1;
      else hi = mid;
    }
    const keys = sorted.slice(lo);
    const size = Math.max(1, req.size);
    const items: Versioned<T>[] = [];
    let next = 0;
    while (next < keys.length && items.length < size) {
      const batch = keys.slice(next, next + size - items.length).map(keyOf);
      const values = await Promise.all(batch.map((k) => this.get(k)));
      values.forEach((v, i) => {
        if (v && (!req.accept || req.accept(batch[i]!, v.value))) items.push(v);
      });
      next += batch.length;
    }
    return {
      items,
      ...(next < keys.length
        ? { nextToken: encodePageToken({ kind: this.kind, scope: req.scope, after: keyOf(keys[next - 1]!), revision }) }
        : {}),
      remaining: keys.length - next,
      revision,
    };
  }

  /**
   * keysOf(filter) in sort order (sortKey), listed again only when the bucket has changed since
   * the last listing of `filter` (its latest revision was then `latest`): the pages of one
   * listing of an unchanged bucket list its keys once, not once a page (10,000 subjects, about
   * half a megabyte to parse and sort, for each page of 500). One listing's keys are kept.
   */
  private async sortedKeys(filter: string, latest: number): Promise<string[]> {
    const kept = this.keyListing;
    if (kept && kept.filter === filter && kept.revision === latest) return kept.sorted;
    const sorted = (await this.keysOf(filter)).map(sortKey).sort();
    // Written while it was listed: it may miss that key, so it is not kept.
    if ((await this.latestRevision()) === latest) this.keyListing = { filter, revision: latest, sorted };
    return sorted;
  }

  /**
   * The keys matching `filter` that have ever held a value, deleted ones included (their
   * delete markers are kept), as the stream leader answers one request: a listing of 10,000
   * keys is one answer of about half a megabyte, where kv.keys() would bring a message a key.
   */
  private async keysOf(filter: string): Promise<string[]> {
    this.manager ??= this.stream.js.jetstreamManager(false);
    const prefix = `$KV.${this.stream.bucket}.`;
    const info = await (
      await this.manager
    ).streams.info(`KV_${this.stream.bucket}`, {
      subjects_filter: `${prefix}${filter}`,
    });
    return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length));
  }

  /**
   * Every change after `afterRevision`, in revision order, each once, until `signal` aborts.
   * Reads the bucket's whole stream (every key; callers filter), so consecutive changes have
   * consecutive revisions: a revision missing in between was dropped by the per-key history
   * limit (its key was written `history` more times since), and then it throws
   * RevisionExpiredError instead of yielding past the hole. `afterRevision` must not be ahead
   * of the bucket's latest revision.
   */
  async *changes(afterRevision: number, signal?: AbortSignal): AsyncIterable<StoreChange<T>> {
    const prefix = `$KV.${this.stream.bucket}.`;
    const consumer = await this.stream.js.consumers.get(`KV_${this.stream.bucket}`, {
      filter_subjects: `${prefix}>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: afterRevision + 1,
    });
    if (signal?.aborted) return;
    const messages = await consumer.consume();
    const stop = () => messages.stop();
    signal?.addEventListener('abort', stop, { once: true });
    let last = afterRevision;
    try {
      for await (const m of messages) {
        if (m.seq <= last) continue;
        if (m.seq !== last + 1) throw new RevisionExpiredError(afterRevision, m.seq);
        last = m.seq;
        const operation = m.headers?.get(KV_OPERATION) || 'PUT';
        const key = m.subject.slice(prefix.length);
        const previous = Number(m.headers?.get(EXPECTED_LAST_SUBJECT_SEQUENCE) || '0');
        if (operation === 'PUT') {
          yield { key, revision: m.seq, value: m.json<T>(), created: previous === 0 };
        } else {
          const before = previous > 0 ? await this.kv.get(key, { revision: previous }).catch(() => null) : null;
          yield {
            key,
            revision: m.seq,
            value: undefined,
            created: false,
            deleted: before?.operation === 'PUT' ? before.json<T>() : undefined,
          };
        }
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      messages.stop();
      releaseConsumer(consumer);
    }
  }

  /**
   * Every object whose key matches `filter`, all as of one revision, which it returns: a watch
   * from that revision then misses and repeats nothing. The listing reads keys one by one, so
   * when something wrote meanwhile, the changes between the revision before and the one after
   * the listing are replayed onto it.
   */
  async snapshot(filter = '>'): Promise<StoreSnapshot<T>> {
    for (let tries = 0; ; tries++) {
      const before = await this.latestRevision();
      const byKey = new Map<string, Versioned<T> | undefined>(await this.listKeyed(filter));
      const after = await this.latestRevision();
      if (after > before) {
        const stop = new AbortController();
        try {
          for await (const c of this.changes(before, stop.signal)) {
            if (keyMatches(filter, c.key)) {
              const known = byKey.get(c.key);
              if (!known || known.revision < c.revision)
                byKey.set(c.key, c.value && { value: c.value, revision: c.revision });
            }
            if (c.revision >= after) break;
          }
        } catch (err) {
          // History dropped under heavy writing: list again.
          if (err instanceof RevisionExpiredError && tries < 5) continue;
          throw err;
        } finally {
          stop.abort();
        }
      }
      const list = [...byKey.values()].filter((v): v is Versioned<T> => v !== undefined);
      return { items: list, revision: after };
    }
  }

  /**
   * The current value of every matching key, then every change, until `signal` aborts.
   * Deleted keys come as events with an undefined value. A watch that breaks or ends (NATS
   * restarting, a reconnect, the node holding its consumer killed) is started again from the
   * revision after the last one seen, so nothing is missed or repeated.
   */
  async *watch(
    options: { filter?: string; signal?: AbortSignal; updatesOnly?: boolean; retryMs?: number } = {},
  ): AsyncIterable<StoreEvent<T>> {
    let last = 0;
    while (!options.signal?.aborted) {
      let watcher;
      // Only the first watcher lists current values; one resumed gets every change in order.
      const listing = last === 0 && !options.updatesOnly;
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
      // Aborted while the watch was being made: the listener above never fires, and the loop
      // below would wait for entries forever (a coordinator stopped just after it started hung).
      if (options.signal?.aborted) watcher.stop();
      try {
        for await (const entry of watcher) {
          if (entry.revision <= last) continue;
          last = entry.revision;
          yield new WatchEvent<T>(entry, listing && !entry.isUpdate, (bytes) => this.ownWrite(entry.key, bytes));
        }
        // nats.js ends a watch quietly when its ordered consumer gives up being recreated (its
        // node gone for long on a cluster); the caller asked for changes until `signal`.
        if (options.signal?.aborted) return;
        await new Promise((r) => setTimeout(r, options.retryMs ?? 500));
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

/**
 * A watch's event, its value decoded when first read, or not at all when it is one of this
 * store's own recent writes (the same bytes): the value written is handed over instead. A
 * coordinator's watch brings back every build it writes, each a whole build to parse again.
 */
class WatchEvent<T> implements StoreEvent<T> {
  readonly key: string;
  readonly revision: number;
  readonly replaying?: boolean;
  private decoded?: { value: T | undefined };

  constructor(
    private readonly entry: KvEntry,
    replaying: boolean,
    /** The value of the store's own recent write with these bytes, if one is (JsonStore.ownWrite). */
    private readonly own: (bytes: Uint8Array) => T | undefined,
  ) {
    this.key = entry.key;
    this.revision = entry.revision;
    if (replaying) this.replaying = true;
  }

  get value(): T | undefined {
    this.decoded ??= { value: this.decode() };
    return this.decoded.value;
  }

  private decode(): T | undefined {
    if (this.entry.operation !== 'PUT') return undefined;
    return this.own(this.entry.value) ?? this.entry.json<T>();
  }
}

/** A value this store wrote: the bytes published and the value they encode. */
interface RecentWrite<T> {
  data: Buffer;
  value: T;
}

/**
 * How many keys' last writes a JsonStore keeps for its watches (see WatchEvent): a watch a few
 * hundred milliseconds behind a coordinator writing a thousand builds a second still finds its own.
 */
const RECENT_WRITES = 1000;
/** How many of a key's last writes a JsonStore keeps: a build's are written faster than a watch may bring them. */
const RECENT_WRITES_A_KEY = 4;

/** A KV key's characters, as the KV client checks them before it writes: a key is part of a subject. */
const VALID_KEY = /^[-/=.\w]+$/;

function validKey(key: string): void {
  if (!VALID_KEY.test(key) || key.startsWith('.') || key.endsWith('.'))
    throw new Error(`invalid key: ${JSON.stringify(key)}`);
}

/** Whether a KV key matches a subject-style filter (`*` one token, `>` the rest). */
export function keyMatches(filter: string, key: string): boolean {
  const f = filter.split('.');
  const k = key.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return k.length > i;
    if (i >= k.length || (f[i] !== '*' && f[i] !== k[i])) return false;
  }
  return f.length === k.length;
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

/** Whether a KV message is a value (no KV-Operation header), not a deletion or purge. */
function holdsValue(m: StoredMsg): boolean {
  return (m.header?.get(KV_OPERATION) || 'PUT') === 'PUT';
}

/**
 * JsonStore.mutate, first at the revision a cache holds (`held`): when that write lands, the
 * usual case, no read was needed. When nothing is held, the write loses its compare-and-set, or
 * `change` declines to write on the held value, it is `store.mutate` (whose decision not to
 * write is made on the latest revision). `remember` is given what was written or read.
 * `change` may run more than once: it must be pure.
 */
export async function mutateFrom<T>(
  store: JsonStore<T>,
  key: string,
  held: Versioned<T> | undefined,
  change: (current: T) => T | undefined,
  remember: (entry: Versioned<T>) => void,
): Promise<Versioned<T> | undefined> {
  const next = held && change(held.value);
  if (held && next) {
    try {
      const written = { value: next, revision: await store.update(key, next, held.revision) };
      remember(written);
      return written;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  const result = await store.mutate(key, change);
  if (result) remember(result);
  return result;
}
