import { JetStreamApiError } from '@nats-io/jetstream';
import { createInbox, errors, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';

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

/** How long a request waits for its answer, as nats.js's JetStream client waits by default. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;

interface Waiting {
  subject: string;
  deadline: number;
  resolve(msg: Msg): void;
  reject(err: Error): void;
}

/** A message as a stream's direct get answers it: the stored payload and headers, and its sequence. */
export interface DirectMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
  header(name: string): string | undefined;
}

/**
 * JetStream publishes and direct gets, their answers taken by one subscription of the connection.
 *
 * nats.js makes each of them a request of its own: a promise, a timer and, once answered, a
 * `RequestError("cancelled")` built with its stack for the request it just answered (nats-core
 * 3.4.0's RequestOne.cancel). That error alone was 4.7% of the coordinator's busy time in the
 * scale benchmark, where every build is several KV writes and a job. Here a request is one
 * message with a reply subject under this publisher's inbox and an entry in a map; one timer
 * ends the ones unanswered after `timeoutMs`.
 *
 * Failures are nats.js's own error types, so callers tell them apart as before: JetStream's error
 * answers (a compare-and-set that lost: err_code 10071) are `JetStreamApiError`; no stream for the
 * subject is `NoRespondersError`; no answer is `TimeoutError`; a closed connection,
 * `ClosedConnectionError`. Like nats.js, a request made while the connection is down waits in its
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

  async publish(subject: string, data: Uint8Array | string, options: StreamPublishOptions = {}): Promise<StreamAck> {
    const pairs: [string, string][] = [];
    if (options.expectedLastSubjectSequence !== undefined)
      pairs.push(['Nats-Expected-Last-Subject-Sequence', String(options.expectedLastSubjectSequence)]);
    if (options.msgId !== undefined) pairs.push(['Nats-Msg-Id', options.msgId]);
    pairs.push(...Object.entries(options.headers ?? {}));
    const msg = await this.request(subject, data, pairs.length > 0 ? encodedHeaders(pairs) : undefined);
    if (msg.headers?.hasError) throw statusError(msg, subject);
    let answer: {
      stream?: string;
      seq?: number;
      duplicate?: boolean;
      error?: ConstructorParameters<typeof JetStreamApiError>[0];
    };
    try {
      answer = msg.json();
    } catch (err) {
      throw new Error(`JetStream answered a publish to ${subject} with no JSON`, { cause: err });
    }
    if (answer.error) throw new JetStreamApiError(answer.error);
    if (!answer.stream || typeof answer.seq !== 'number')
      throw new Error(`JetStream answered a publish to ${subject} with no stream and sequence`);
    return { stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate === true };
  }

  /**
   * The last message on `subject` in `stream`, as any of its replicas holds it (a direct get: the
   * stream must allow them), or null when there is none.
   */
  async lastBySubject(stream: string, subject: string): Promise<DirectMessage | null> {
    const msg = await this.request(`$JS.API.DIRECT.GET.${stream}.${subject}`, '');
    if (msg.headers?.code === 404) return null;
    if (msg.headers?.hasError) throw statusError(msg, subject);
    const h = msg.headers;
    const seq = Number(h?.get('Nats-Sequence'));
    const stored = h?.get('Nats-Subject');
    if (!Number.isInteger(seq) || seq <= 0 || !stored)
      throw new Error(`JetStream answered a direct get of ${subject} without its sequence and subject`);
    if (stored !== subject) return null;
    return { seq, subject: stored, data: msg.data, header: (name) => h?.get(name) || undefined };
  }

  /** Sends `data` to `subject` with a reply subject of this publisher's: the answer, a status message included. */
  private request(subject: string, data: Uint8Array | string, h?: MsgHdrs): Promise<Msg> {
    if (this.closed || this.nc.isClosed()) return Promise.reject(new errors.ClosedConnectionError());
    const token = (this.next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      this.waiting.set(token, { subject, deadline: Date.now() + this.timeoutMs, resolve, reject });
      this.timer ??= setInterval(() => this.expire(), Math.min(250, this.timeoutMs)).unref();
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${token}`, ...(h ? { headers: h } : {}) });
      } catch (err) {
        this.waiting.delete(token);
        reject(err as Error);
      }
    });
  }

  /** How many requests wait for their answer (for tests). */
  get unanswered(): number {
    return this.waiting.size;
  }

  private answered(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const w = this.waiting.get(token);
    if (!w) return; // answered after its timeout
    this.waiting.delete(token);
    w.resolve(msg);
  }

  /** Ends the requests unanswered past their deadline: the map is in request order, so the oldest come first. */
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

/**
 * Headers as nats.js's publish uses them: it asks only for their bytes (`encode`). Its own
 * MsgHdrs (a map; each name checked and looked for on every set, the text made and encoded on
 * publish) was about 5% of what the coordinator allocated in the scale benchmark; these are the
 * same bytes, made once. test/stream-publisher.test.ts sends each header this way and reads it
 * back from the stream, so a nats.js that wants more of its headers than that fails it.
 */
function encodedHeaders(pairs: [string, string][]): MsgHdrs {
  let text = 'NATS/1.0';
  for (const [name, value] of pairs) {
    if (!/^[!-9;-~]+$/.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
    if (/[\r\n]/.test(value)) throw new Error(`header ${name}'s value has a line break`);
    text += `\r\n${name}: ${value.trim()}`;
  }
  const bytes = Buffer.from(`${text}\r\n\r\n`);
  return { encode: () => bytes } as unknown as MsgHdrs;
}

/** A status answer (no JSON body) as an error: 503 is no stream (or none allowing direct gets) for the subject. */
function statusError(msg: Msg, subject: string): Error {
  const h = msg.headers!;
  return h.code === 503 ? new errors.NoRespondersError(subject) : new errors.RequestError(`${h.code} ${h.description}`);
}

const publishers = new WeakMap<NatsConnection, StreamPublisher>();

/** The connection's StreamPublisher (one subscription a connection), made on first use. */
export function streamPublisher(nc: NatsConnection): StreamPublisher {
  let p = publishers.get(nc);
  if (!p) publishers.set(nc, (p = new StreamPublisher(nc)));
  return p;
}
