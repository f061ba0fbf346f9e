import { JetStreamApiError } from '@nats-io/jetstream';
import { createInbox, errors, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';

/** What JetStream answers a publish it stored. */
export interface StreamAck {
  stream: string;
  /** The message's sequence in its stream (a KV key's revision). */
  seq: number;
  /** The stream already held a message with this id (`msgId`): nothing was stored. */
  duplicate: boolean;
}

export interface StreamPublishOptions {
  /** Stored only if the subject's last message is at this sequence (0: it has none). */
  expectedLastSubjectSequence?: number;
  /** Dropped as a duplicate if the stream stored this id within its duplicate window. */
  msgId?: string;
  /** Other headers, e.g. `KV-Operation`. */
  headers?: Record<string, string>;
}

/** How long a publish waits for its answer, as nats.js's JetStream client waits by default. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;

interface Waiting {
  subject: string;
  deadline: number;
  resolve(ack: StreamAck): void;
  reject(err: Error): void;
}

/**
 * JetStream publishes, their answers taken by one subscription of the connection.
 *
 * nats.js's `js.publish` makes each publish a request of its own: a promise, a timer and, once
 * answered, a `RequestError("cancelled")` built with its stack for the request it just answered
 * (nats-core 3.4.0's RequestOne.cancel). That error alone was 4.7% of the coordinator's busy time
 * in the scale benchmark, where every build is several KV writes and a job. Here a publish is
 * one message with a reply subject under this publisher's inbox and an entry in a map; one timer
 * ends the ones unanswered after `timeoutMs`.
 *
 * Failures are nats.js's own error types, so callers tell them apart as before: JetStream's error
 * answers (a compare-and-set that lost: err_code 10071) are `JetStreamApiError`; no stream for the
 * subject is `NoRespondersError`; no answer is `TimeoutError`; a closed connection,
 * `ClosedConnectionError`. Like nats.js, a publish made while the connection is down waits in its
 * buffer for the reconnect, and its timer runs meanwhile.
 */
export class StreamPublisher {
  private readonly inbox: string;
  private readonly waiting = new Map<string, Waiting>();
  private next = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS,
  ) {
    // The connection's own inbox prefix (an agent's is its own, which its permissions name).
    this.inbox = createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
    nc.subscribe(`${this.inbox}.*`, { callback: (err, msg) => (err ? this.failAll(err) : this.answered(msg)) });
    void nc.closed().then(() => this.failAll(new errors.ClosedConnectionError()));
  }

  publish(subject: string, data: Uint8Array | string, options: StreamPublishOptions = {}): Promise<StreamAck> {
    if (this.closed || this.nc.isClosed()) return Promise.reject(new errors.ClosedConnectionError());
    const token = (this.next++).toString(36);
    const h = headers();
    if (options.expectedLastSubjectSequence !== undefined)
      h.set('Nats-Expected-Last-Subject-Sequence', String(options.expectedLastSubjectSequence));
    if (options.msgId !== undefined) h.set('Nats-Msg-Id', options.msgId);
    for (const [name, value] of Object.entries(options.headers ?? {})) h.set(name, value);
    return new Promise<StreamAck>((resolve, reject) => {
      this.waiting.set(token, { subject, deadline: Date.now() + this.timeoutMs, resolve, reject });
      this.timer ??= setInterval(() => this.expire(), Math.min(250, this.timeoutMs)).unref();
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${token}`, headers: h });
      } catch (err) {
        this.waiting.delete(token);
        reject(err as Error);
      }
    });
  }

  /** How many publishes wait for their answer (for tests). */
  get unanswered(): number {
    return this.waiting.size;
  }

  private answered(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const w = this.waiting.get(token);
    if (!w) return; // answered after its timeout
    this.waiting.delete(token);
    if (msg.headers?.hasError) {
      w.reject(
        msg.headers.code === 503
          ? new errors.NoRespondersError(w.subject)
          : new errors.RequestError(`${msg.headers.code} ${msg.headers.description}`),
      );
      return;
    }
    let answer: {
      stream?: string;
      seq?: number;
      duplicate?: boolean;
      error?: ConstructorParameters<typeof JetStreamApiError>[0];
    };
    try {
      answer = msg.json();
    } catch (err) {
      w.reject(new Error(`JetStream answered a publish to ${w.subject} with no JSON`, { cause: err }));
      return;
    }
    if (answer.error) w.reject(new JetStreamApiError(answer.error));
    else if (!answer.stream || typeof answer.seq !== 'number')
      w.reject(new Error(`JetStream answered a publish to ${w.subject} with no stream and sequence`));
    else w.resolve({ stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate === true });
  }

  /** Ends the publishes unanswered past their deadline: the map is in publish order, so the oldest come first. */
  private expire(): void {
    const now = Date.now();
    for (const [token, w] of this.waiting) {
      if (w.deadline > now) break;
      this.waiting.delete(token);
      w.reject(new errors.TimeoutError());
    }
    if (this.waiting.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private failAll(err: Error): void {
    if (this.nc.isClosed()) this.closed = true;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

const publishers = new WeakMap<NatsConnection, StreamPublisher>();

/** The connection's StreamPublisher (one subscription a connection), made on first use. */
export function streamPublisher(nc: NatsConnection): StreamPublisher {
  let p = publishers.get(nc);
  if (!p) publishers.set(nc, (p = new StreamPublisher(nc)));
  return p;
}
