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
 * Publishes one attempt's log to JetStream: lines numbered from 1, secrets masked, in chunks.
 * One chunk is in flight at a time, and a chunk that failed is sent again with the same
 * message id until it is stored, so lines are stored in order, once each, even across a NATS
 * restart. `close` sends what is left and the end marker.
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
    this.o.tail?.push(masked);
    this.buffer.push(masked);
    this.bufferBytes += masked.length + 1;
    if (this.bufferBytes >= (this.o.maxChunkBytes ?? 32 * 1024)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.o.flushIntervalMs ?? 100);
  }

  /** Sends everything written, then the end marker. Resolves when all of it is stored. */
  async close(signal?: AbortSignal): Promise<number> {
    if (!this.closed) {
      this.flush();
      this.closed = true;
      const total = this.next - 1;
      this.enqueue({ attempt: this.o.attempt, first: this.next, lines: [], end: { lines: total } }, signal);
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
