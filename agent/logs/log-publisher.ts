import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { logChunkId, logSubject, type LogChunk } from '../../common/nats/logs.js';
import type { Logger } from '../../common/log.js';
import type { LogTail } from './log-tail.js';
import type { SecretMasker } from './secret-masker.js';

export interface LogPublisherOptions {
  namespace: string;
  build: string;
  attempt: number;
  masker: SecretMasker;
  log: Logger;
  /** Gets every line as it is stored (masked), for a failed build's snippet. */
  tail?: LogTail;
  /** A chunk is sent when it holds this many bytes ... */
  maxChunkBytes?: number;
  /** ... or its first line has waited this long. */
  flushIntervalMs?: number;
}

/**
 * Longest line stored, in UTF-16 code units: a longer one (a minified file printed whole) is
 * stored as several lines of at most this many, cut between characters after masking. A stored
 * chunk (JSON, up to 32 KiB of lines and one line more) must fit in a NATS message (1 MiB by
 * default); a line that did not would be refused each time it was sent, and the log would stop.
 */
export const MAX_LOG_LINE_CHARS = 64 * 1024;

/**
 * Publishes one attempt's log to JetStream: lines numbered from 1, secrets masked, in chunks.
 * One chunk is in flight at a time, and a chunk that failed is sent again with the same
 * message id until it is stored, so lines are stored in order, once each, even across a NATS
 * restart. `close` sends what is left with the end marker.
 */
export class LogPublisher {
  private readonly js: JetStreamClient;
  private readonly subject: string;
  private buffer: string[] = [];
  private bufferBytes = 0;
  private next = 1;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    nc: NatsConnection,
    private readonly o: LogPublisherOptions,
  ) {
    this.js = jetstream(nc);
    this.subject = logSubject(o.namespace, o.build, o.attempt);
  }

  /** Lines written so far. */
  get lines(): number {
    return this.next - 1 + this.buffer.length;
  }

  write(line: string): void {
    if (this.closed) return;
    const masked = this.o.masker.mask(line);
    if (masked.length > MAX_LOG_LINE_CHARS) {
      for (const piece of pieces(masked, MAX_LOG_LINE_CHARS)) this.store(piece);
      return;
    }
    this.store(masked);
  }

  private store(masked: string): void {
    this.o.tail?.push(masked);
    this.buffer.push(masked);
    this.bufferBytes += masked.length + 1;
    if (this.bufferBytes >= (this.o.maxChunkBytes ?? 32 * 1024)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.o.flushIntervalMs ?? 100);
  }

  /**
   * Sends everything written and the end marker, in one message: the lines not sent yet carry
   * it (a build's last or only chunk is also its end, a message per build fewer). Resolves when
   * all of it is stored.
   */
  async close(signal?: AbortSignal): Promise<number> {
    if (!this.closed) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.closed = true;
      const lines = this.buffer;
      const first = this.next;
      this.next += lines.length;
      this.buffer = [];
      this.bufferBytes = 0;
      this.enqueue({ attempt: this.o.attempt, first, lines, end: { lines: this.next - 1 } }, signal);
    }
    await this.sending;
    return this.next - 1;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const chunk: LogChunk = { attempt: this.o.attempt, first: this.next, lines: this.buffer };
    this.next += this.buffer.length;
    this.buffer = [];
    this.bufferBytes = 0;
    this.enqueue(chunk);
  }

  private enqueue(chunk: LogChunk, signal?: AbortSignal): void {
    const id = logChunkId(this.o.namespace, this.o.build, this.o.attempt, chunk.first, chunk.end !== undefined);
    const payload = JSON.stringify(chunk);
    this.sending = this.sending.then(async () => {
      for (let tries = 0; ; tries++) {
        try {
          await this.js.publish(this.subject, payload, { msgID: id, timeout: 5000 });
          return;
        } catch (err) {
          if (signal?.aborted) return;
          if (tries % 10 === 0)
            this.o.log.warn('storing log lines failed; retrying', { error: (err as Error).message, tries });
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(tries, 5))));
        }
      }
    });
  }
}

/** `text` in pieces of at most `max` code units, never cutting a surrogate pair in two. */
function* pieces(text: string, max: number): Iterable<string> {
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + max);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield text.slice(at, end);
    at = end;
  }
}
