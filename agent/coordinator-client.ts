import * as grpc from '@grpc/grpc-js';
import { AbortedError, SlipwayError } from '../common/errors.js';
import { slipwayProto } from '../common/grpc/proto.js';
import { isTransient, reasonOf } from '../common/grpc/status.js';
import type { Logger } from '../common/log.js';
import type { AgentServiceClient } from '../proto/generated/slipway/v1/AgentService.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import type { ClaimBuildRequest } from '../proto/generated/slipway/v1/ClaimBuildRequest.js';
import type { ClaimBuildResponse__Output } from '../proto/generated/slipway/v1/ClaimBuildResponse.js';
import type { HeartbeatRequest } from '../proto/generated/slipway/v1/HeartbeatRequest.js';
import type { HeartbeatResponse__Output } from '../proto/generated/slipway/v1/HeartbeatResponse.js';
import type { CompleteBuildRequest } from '../proto/generated/slipway/v1/CompleteBuildRequest.js';
import type { FailBuildRequest } from '../proto/generated/slipway/v1/FailBuildRequest.js';
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
 * The agent's side of AgentService. A report that does not get through (coordinator down,
 * connection cut) is retried until it is answered or `signal` aborts: an outcome is never
 * dropped. An answer that refuses the report throws ReportRefusedError.
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

  close(): void {
    this.client.close();
  }

  private async retrying<Res>(
    method: string,
    signal: AbortSignal,
    call: (deadline: Date, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void,
  ): Promise<Res> {
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new AbortedError(`${method} abandoned: agent stopping`);
      try {
        return await new Promise<Res>((resolve, reject) =>
          call(new Date(Date.now() + this.options.callTimeoutMs), (err, res) => (err ? reject(err) : resolve(res!))),
        );
      } catch (err) {
        if (!isTransient(err)) {
          const e = err as grpc.ServiceError;
          if (e.code === grpc.status.FAILED_PRECONDITION || e.code === grpc.status.NOT_FOUND) {
            throw new ReportRefusedError(`${method} refused: ${e.details}`, reasonOf(err) || 'Refused', { cause: err });
          }
          throw err;
        }
        const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** attempt);
        this.options.log.warn('coordinator call did not get through; retrying', {
          method,
          delayMs: delay,
          error: (err as Error).message,
        });
        await sleep(delay, signal);
      }
    }
  }
}
