import type { ServerResponse } from 'node:http';
import { RevisionExpiredError, errorMessage } from '../../common/errors.js';
import type { Versioned } from '../../api/types.js';
import type { StoreChange } from '../store/json-store.js';
import { toKubeStatus } from './status.js';

/**
 * A Kubernetes watch over a store's change feed, as newline-delimited JSON events
 * (`{"type":"ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR","object":…}`).
 *
 * Resource versions are store revisions. A watch from revision N sends every change after N,
 * in order, once. When the store no longer holds every change after N (the KV keeps a few
 * revisions per key, so a key written often drops its oldest ones), the watch sends what it
 * still can up to the hole, then an ERROR event with a 410 Expired Status, and ends: the client
 * lists again, as it would after the apiserver's compaction.
 */
export interface WatchOptions<T> {
  /** Objects to send as ADDED first (a watch without resourceVersion starts with the state). */
  initial: Versioned<T>[];
  /** The revision changes are sent after. */
  fromRevision: number;
  changes: (afterRevision: number, signal: AbortSignal) => AsyncIterable<StoreChange<T>>;
  /** Whether a change to `key` with this value belongs to the watch (namespace, selectors). */
  matches: (key: string, value: T) => boolean;
  /** The object an event carries (a Kubernetes object, or a Table row). */
  render: (o: Versioned<T>, type: WatchEventType) => unknown;
  /** Object of a BOOKMARK event: only its resourceVersion matters. */
  bookmark: (resourceVersion: string) => unknown;
  /** 0: no bookmarks. */
  bookmarkIntervalMs: number;
  /** The watch ends (cleanly) after this long; clients then watch again from the last version. */
  timeoutMs: number;
  signal: AbortSignal;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export async function serveWatch<T>(res: ServerResponse, o: WatchOptions<T>): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  const send = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const timeout = setTimeout(() => stop.abort(), o.timeoutMs);
  // Every change up to `last` was looked at (sent, or not this watch's): a bookmark there is safe.
  let last = o.fromRevision;
  const bookmarks =
    o.bookmarkIntervalMs > 0
      ? setInterval(() => send('BOOKMARK', o.bookmark(String(last))), o.bookmarkIntervalMs)
      : undefined;
  try {
    for (const item of o.initial) send('ADDED', o.render(item, 'ADDED'));
    for await (const c of o.changes(o.fromRevision, stop.signal)) {
      const value = c.value ?? c.deleted;
      if (value !== undefined && o.matches(c.key, value)) {
        const type: WatchEventType = c.value === undefined ? 'DELETED' : c.created ? 'ADDED' : 'MODIFIED';
        send(type, o.render({ value, revision: c.revision }, type));
      }
      last = c.revision;
    }
  } catch (err) {
    if (!stop.signal.aborted) {
      send(
        'ERROR',
        err instanceof RevisionExpiredError
          ? toKubeStatus(err)
          : toKubeStatus(new Error(`watch ended: ${errorMessage(err)}`)),
      );
    }
  } finally {
    clearTimeout(timeout);
    clearInterval(bookmarks);
    o.signal.removeEventListener('abort', onAbort);
    stop.abort();
    res.end();
  }
}
