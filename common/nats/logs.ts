import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { nanos, upsertStream } from './streams.js';

/** Stream holding every build's log; a subject per attempt of a build. */
export const LOGS_STREAM = 'SLIPWAY_LOGS';
export const LOGS_SUBJECT_PREFIX = 'slipway.logs';

export function logSubject(namespace: string, build: string, attempt: number): string {
  return `${LOGS_SUBJECT_PREFIX}.${namespace}.${build}.${attempt}`;
}

/**
 * One message of a log: consecutive lines starting at `first` (1-based); the last message of an
 * attempt's log carries the end marker too (agents before #21 sent it alone, with no lines).
 * Lines are sent in chunks so a chatty build costs a message per chunk, not per line; the
 * chunk's message id (`…/first`) makes a re-sent chunk a duplicate the stream drops.
 */
export interface LogChunk {
  attempt: number;
  first: number;
  lines: string[];
  /** Set on the last message of an attempt's log, after its lines: no line follows. */
  end?: { lines: number };
}

export function logChunkId(namespace: string, build: string, attempt: number, first: number, end: boolean): string {
  return `${namespace}/${build}/${attempt}/${end ? 'end' : first}`;
}

export interface LogStreamOptions {
  replicas: number;
  /** Logs older than this are removed. */
  maxAgeMs: number;
  /** The stream keeps at most this many bytes, dropping the oldest logs first. */
  maxBytes: number;
  duplicateWindowMs: number;
}

export function defaultLogStreamOptions(): LogStreamOptions {
  return { replicas: 1, maxAgeMs: 7 * 24 * 3600_000, maxBytes: 1024 ** 3, duplicateWindowMs: 2 * 60_000 };
}

/** Creates the log stream, or updates its limits. The coordinator owns it. */
export async function ensureLogStream(nc: NatsConnection, o: LogStreamOptions): Promise<void> {
  await upsertStream(await jetstreamManager(nc), {
    name: LOGS_STREAM,
    subjects: [`${LOGS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    storage: StorageType.File,
    num_replicas: o.replicas,
    max_age: nanos(o.maxAgeMs),
    max_bytes: o.maxBytes,
    duplicate_window: nanos(o.duplicateWindowMs),
  });
}
