import type * as grpc from '@grpc/grpc-js';
import { InvalidInputError } from '../../common/errors.js';
import { toGrpcStatus } from '../../common/grpc/status.js';

const MALFORMED = Symbol('malformed request');

/** What a request deserializer returns, instead of throwing, for bytes that are not its message. */
interface Malformed {
  [MALFORMED]: InvalidInputError;
}

function isMalformed(message: unknown): message is Malformed {
  return typeof message === 'object' && message !== null && MALFORMED in message;
}

/**
 * A client-streamed message as its type, or InvalidInputError when its bytes could not be read.
 * Client-streaming handlers call it on every message they take from the stream.
 */
export function wellFormed<T>(message: T | Malformed): T {
  if (isMalformed(message)) throw message[MALFORMED];
  return message;
}

/**
 * A service whose requests that cannot be decoded are answered INVALID_ARGUMENT, naming the
 * method and what the decoder found, rather than grpc-js's INTERNAL "Error deserializing
 * request". Each method's deserializer returns a marker instead of throwing; unary and
 * server-streaming handlers are wrapped to answer it; client-streaming handlers read their
 * messages through `wellFormed`.
 */
export function answerMalformedRequests<H extends grpc.UntypedServiceImplementation>(
  service: grpc.ServiceDefinition,
  handlers: H,
): [grpc.ServiceDefinition, H] {
  const guardedService: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const guardedHandlers: grpc.UntypedServiceImplementation = { ...handlers };
  for (const [method, def] of Object.entries(service)) {
    const decode = def.requestDeserialize.bind(def);
    guardedService[method] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          return {
            [MALFORMED]: new InvalidInputError(
              [{ field: '(message)', message: `cannot be decoded as ${method}'s request: ${why}` }],
              'request',
            ),
          };
        }
      },
    };
    const handler = handlers[method];
    if (!handler || def.requestStream) continue;
    guardedHandlers[method] = def.responseStream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
          if (isMalformed(call.request)) call.emit('error', toGrpcStatus(call.request[MALFORMED]));
          else (handler as grpc.handleServerStreamingCall<unknown, unknown>)(call);
        }
      : (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          if (isMalformed(call.request)) callback(toGrpcStatus(call.request[MALFORMED]));
          else (handler as grpc.handleUnaryCall<unknown, unknown>)(call, callback);
        };
  }
  return [guardedService, guardedHandlers as H];
}
