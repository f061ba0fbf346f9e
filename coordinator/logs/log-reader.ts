import { jetstream, type Consumer } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { releaseConsumer } from '../../common/nats/consumers.js';
import { LOGS_STREAM, logSubject, type LogChunk } from '../../common/nats/logs.js';

/**
 * Consecutive lines of one attempt's log, as one stored message holds them: `texts[i]` is line
 * `first + i`. Never empty. Readers hand a batch on whole, so a line costs no message of its own
 * on the way to a client.
 */
export interface LogBatch {
  attempt: number;
  /** The number of the first line (1-based, per attempt). */
  first: number;
  texts: string[];
}

export interface ReadLogOptions {
  namespace: string;
  build: string;
  attempt: number;
  /** 1-based; lines before it are skipped. */
  fromLine: number;
  /** Wait for new lines until the log ends, instead of stopping at the last stored one. */
  follow: boolean;
  /**
   * Asked when no line came for a while during a follow: true once the attempt can write
   * nothing more (the build ended, or moved on to another attempt) even though its end marker
   * never came (its agent died).
   */
  attemptOver: () => Promise<boolean>;
  signal?: AbortSignal;
  /** How long one wait for a message lasts. */
  pollMs?: number;
}

/**
 * One attempt's log in batches, in order, each line once: a batch per stored message, less the
 * lines before `fromLine`. Reads the attempt's subject with an ordered consumer from its first
 * message; a reader that reconnects asks again with `fromLine` one past the last line it got.
 * The stored format (`LogChunk`: JSON, a chunk of lines with its first line's number) is the one
 * the agent has always written, so logs stored by older agents read the same.
 */
export async function* readBuildLog(nc: NatsConnection, o: ReadLogOptions): AsyncIterable<LogBatch> {
  const consumer: Consumer = await jetstream(nc).consumers.get(LOGS_STREAM, {
    // One subject as a string: a list needs nats-server 2.10.
    filter_subjects: logSubject(o.namespace, o.build, o.attempt),
  });
  const pollMs = o.pollMs ?? 1000;
  let draining = false;
  try {
    for (;;) {
      if (o.signal?.aborted) return;
      const msg = await consumer.next({ expires: draining ? Math.min(pollMs, 500) : pollMs });
      if (!msg) {
        // Caught up. Without follow, that is the end; with it, the end only once the attempt is
        // over, after one more look for lines stored just before it ended.
        if (!o.follow || draining) return;
        if (await o.attemptOver()) draining = true;
        continue;
      }
      const chunk = JSON.parse(msg.string()) as LogChunk;
      const skip = Math.max(0, o.fromLine - chunk.first);
      if (skip < chunk.lines.length)
        yield {
          attempt: chunk.attempt,
          first: chunk.first + skip,
          texts: skip === 0 ? chunk.lines : chunk.lines.slice(skip),
        };
      if (chunk.end) return;
      if (!o.follow && msg.info.pending === 0) return;
    }
  } finally {
    releaseConsumer(consumer);
  }
}

/** The same lines in batches of one, for a reader that takes a line a message. */
export async function* oneLineEach(batches: AsyncIterable<LogBatch>): AsyncIterable<LogBatch> {
  for await (const b of batches)
    for (let i = 0; i < b.texts.length; i++) yield { attempt: b.attempt, first: b.first + i, texts: [b.texts[i]!] };
}
