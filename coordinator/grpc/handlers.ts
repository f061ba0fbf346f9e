import type * as grpc from '@grpc/grpc-js';
import { toGrpcStatus } from '../../common/grpc/status.js';
import type { Logger } from '../../common/log.js';

/**
 * Wraps a promise-returning function as a unary handler that never throws: a rejection is
 * answered as a gRPC status (common/grpc/status.ts).
 */
export function unary<Req, Res>(
  log: Logger,
  method: string,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => {
        const status = toGrpcStatus(err);
        if (status.code === 13) log.error('internal error', { method, error: status.details });
        callback(status);
      },
    );
  };
}
