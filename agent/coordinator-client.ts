import * as grpc from '@grpc/grpc-js';
import { AbortedError, SlipwayError } from '../common/errors.js';
import { slipwayProto } from '../common/grpc/proto.js';
import { reasonOf } from '../common/grpc/status.js';
import type { Logger } from '../common/log.js';
import type { AgentServiceClient } from '../proto/generated/slipway/v1/AgentService.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import type { ClaimBuildRequest } from '../proto/generated/slipway/v1/ClaimBuildRequest.js';
import type { ClaimBuildResponse__Output } from '../proto/generated/slipway/v1/ClaimBuildResponse.js';
import type { HeartbeatRequest } from '../proto/generated/slipway/v1/HeartbeatRequest.js';
import type { HeartbeatResponse__Output } from '../proto/generated/slipway/v1/HeartbeatResponse.js';
import type { CompleteBuildRequest } from '../proto/generated/slipway/v1/CompleteBuildRequest.js';
import type { FailBuildRequest } from '../proto/generated/slipway/v1/FailBuildRequest.js';
import type { RecordSourceImagesRequest } from '../proto/generated/slipway/v1/RecordSourceImagesRequest.js';
import { sleepUnlessAborted as sleep } from '../common/sleep.js';
import { ipFamily } from './config.js';

/**
 * The coordinator refused a report: it is about an attempt this agent does not own (any more),
 * or the build already ended. Retrying will not change that.
 */
export class ReportRefusedError extends SlipwayError {
  readonly reason = 'ReportRefused';
  constructor(
    message: string,
    /** The coordinator's reason, e.g. StaleAttempt or BuildAlreadyTerminal. */
    readonly refusal: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The grpc-js target for the coordinators' addresses: one address as it is (a host name is
 * resolved by DNS, every address it has used); several IP addresses as grpc-js's own list
 * target, `ipv4:10.0.0.1:7070,10.0.0.2:7070` (or `ipv6:[…]:p,…`). agent/config.ts has checked
 * that several are all IPs of one family.
 */
export function coordinatorTarget(addresses: string[]): string {
  if (addresses.length === 1) return addresses[0]!;
  return `${ipFamily(addresses[0]!) === 6 ? 'ipv6' : 'ipv4'}:${addresses.join(',')}`;
}

/** PEM contents for TLS to the coordinator: its CA, and the agent's own certificate and key. */
export interface AgentTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface CoordinatorClientOptions {
  /** TLS (mutual when cert and key are given); undefined: plaintext. */
  tls?: AgentTls;
  /** Deadline of one call. */
  callTimeoutMs: number;
  /** Backoff between retries of a call that did not get through: doubles up to the maximum. */
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
}

/**
 * What the agent does with a failed call to the coordinator (see retryableCodes):
 * `retry` it, take it as `refused` for good (the attempt is not this agent's, the build is gone),
 * or `fail` (the request itself is wrong: sending it again cannot help).
 */
export type CallFailure = 'retry' | 'refused' | 'fail';

/**
 * Answers worth sending the same request again for: the coordinator was not reached or did not
 * answer (UNAVAILABLE, DEADLINE_EXCEEDED), lost a compare-and-set race (ABORTED), was stopping
 * (CANCELLED: a coordinator shutting down cancels the calls it still holds), or failed in a way
 * it did not classify (INTERNAL, UNKNOWN: a fault of the coordinator or of a hop before it, which
 * may have happened before or after the report's write landed). A retried report is safe either
 * way: the coordinator answers a repeat of the report that ended the attempt with the build
 * (coordinator/builds/transitions.ts, finish), and fences any other.
 */
const RETRYABLE_CODES: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.CANCELLED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
]);

/** How a failed call is treated; anything that is not a gRPC error (a bug of the agent's) fails. */
export function callFailure(err: unknown): CallFailure {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'number') return 'fail';
  if (RETRYABLE_CODES.has(code)) return 'retry';
  if (code === grpc.status.FAILED_PRECONDITION || code === grpc.status.NOT_FOUND) return 'refused';
  return 'fail';
}

/**
 * The agent's side of AgentService. A report (or claim) answered with a retryable code
 * (RETRYABLE_CODES: the coordinator down, restarting or failing, the connection cut) is sent
 * again, with a backoff that doubles from `retryBaseMs` up to `retryMaxMs`, until it is answered
 * or `signal` aborts (which also cancels the call in flight): an outcome is never dropped while
 * the agent runs. An answer that refuses the report for good (FAILED_PRECONDITION, NOT_FOUND)
 * throws ReportRefusedError; any other error is thrown as it came.
 */
export class CoordinatorClient {
  private readonly client: AgentServiceClient;

  constructor(
    /** One host:port, or several IP host:ports (see coordinatorTarget). */
    addresses: string[],
    private readonly options: CoordinatorClientOptions,
  ) {
    const { tls } = options;
    const credentials = tls
      ? grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null)
      : grpc.credentials.createInsecure();
    this.client = new (slipwayProto().slipway.v1.AgentService)(coordinatorTarget(addresses), credentials, {
      // grpc-js backs off reconnects up to 2 minutes; an agent must find a restarted
      // coordinator well within the heartbeat grace, so it keeps trying every second at most.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // round_robin keeps a connection to every address the target names and sends each call
      // to a ready one: a dead coordinator's share goes to the others at once, and a call that
      // failed on it is retried (retrying, below) on one that answers. A host name that resolves
      // to several coordinators is spread the same way.
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    });
  }

  claim(req: ClaimBuildRequest, signal: AbortSignal): Promise<ClaimBuildResponse__Output> {
    return this.retrying('ClaimBuild', signal, (deadline, cb) => this.client.ClaimBuild(req, { deadline }, cb));
  }

  /** One heartbeat, not retried: the next one is the retry. */
  heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse__Output> {
    return new Promise((resolve, reject) =>
      this.client.Heartbeat(req, { deadline: new Date(Date.now() + this.options.callTimeoutMs) }, (err, res) =>
        err ? reject(err) : resolve(res!),
      ),
    );
  }

  complete(req: CompleteBuildRequest, signal: AbortSignal): Promise<Build__Output> {
    return this.retrying('CompleteBuild', signal, (deadline, cb) => this.client.CompleteBuild(req, { deadline }, cb));
  }

  fail(req: FailBuildRequest, signal: AbortSignal): Promise<Build__Output> {
    return this.retrying('FailBuild', signal, (deadline, cb) => this.client.FailBuild(req, { deadline }, cb));
  }

  /** Records the digests of the attempt's source images; the answer holds those to use (an earlier attempt's, when it recorded them). */
  recordSourceImages(req: RecordSourceImagesRequest, signal: AbortSignal): Promise<Build__Output> {
    return this.retrying('RecordSourceImages', signal, (deadline, cb) =>
      this.client.RecordSourceImages(req, { deadline }, cb),
    );
  }

  close(): void {
    this.client.close();
  }

  private async retrying<Res>(
    method: string,
    signal: AbortSignal,
    call: (deadline: Date, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall,
  ): Promise<Res> {
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new AbortedError(`${method} abandoned: agent stopping`);
      try {
        return await new Promise<Res>((resolve, reject) => {
          const inFlight = call(new Date(Date.now() + this.options.callTimeoutMs), (err, res) => {
            signal.removeEventListener('abort', cancel);
            if (err) reject(err);
            else resolve(res!);
          });
          const cancel = () => inFlight.cancel();
          signal.addEventListener('abort', cancel, { once: true });
        });
      } catch (err) {
        if (signal.aborted) throw new AbortedError(`${method} abandoned: agent stopping`, { cause: err });
        const failure = callFailure(err);
        const e = err as grpc.ServiceError;
        if (failure === 'refused')
          throw new ReportRefusedError(`${method} refused: ${e.details}`, reasonOf(err) || 'Refused', { cause: err });
        if (failure === 'fail') throw err;
        const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(attempt, 30));
        this.options.log.warn('coordinator call did not get through; retrying', {
          method,
          code: grpc.status[e.code],
          delayMs: delay,
          error: e.message,
        });
        await sleep(delay, signal);
      }
    }
  }
}
