import type * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../../common/errors.js';
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

/**
 * Writes every item of `items` to a server stream, waiting when the client reads slowly, and
 * ends it; an error becomes the stream's status. A cancelled call aborts `abort`, which the
 * producer must stop on (releasing its watch or consumer).
 */
export async function serverStream<Req, Item, Msg>(
  log: Logger,
  call: grpc.ServerWritableStream<Req, Msg>,
  produce: (signal: AbortSignal) => AsyncIterable<Item>,
  convert: (item: Item) => Msg,
): Promise<void> {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  try {
    for await (const item of produce(abort.signal)) {
      if (abort.signal.aborted) return;
      if (!call.write(convert(item))) await new Promise((r) => call.once('drain', r));
    }
    call.end();
  } catch (err) {
    if (abort.signal.aborted) return;
    log.debug('stream ended with an error', { error: errorMessage(err) });
    // grpc-js sends an 'error' event's status as the call's status, then ends the call.
    call.emit('error', toGrpcStatus(err));
  }
}
