import * as grpc from '@grpc/grpc-js';
import {
  AbortedError,
  AlreadyExistsError,
  BuildAlreadyTerminalError,
  BuildStillRunningError,
  ConflictError,
  InvalidInputError,
  NodeSelectorMismatchError,
  NotFoundError,
  PermissionDeniedError,
  SlipwayError,
  StaleAttemptError,
  UnauthenticatedError,
  UnavailableError,
} from '../errors.js';

/** What a handler answers instead of throwing. */
export interface GrpcErrorStatus {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

/** Metadata key carrying the error's stable reason, so clients can branch without parsing text. */
export const REASON_METADATA_KEY = 'slipway-reason';
/** Metadata key carrying the fields at fault of an invalid request, as JSON. */
export const FIELDS_METADATA_KEY = 'slipway-fields';

/**
 * Most characters of an error's message, and of each field's, that travel in the status: they
 * go in HTTP/2 trailers, and a message quoting a megabyte the client sent would make trailers
 * the client's HTTP/2 layer refuses, dropping its whole connection.
 */
const MAX_DETAILS = 2048;
const MAX_FIELD_MESSAGE = 512;

/** The one place errors become gRPC status codes. Unknown errors are INTERNAL, message kept. */
export function toGrpcStatus(err: unknown): GrpcErrorStatus {
  const metadata = new grpc.Metadata();
  const details = clip(err instanceof Error ? err.message : String(err), MAX_DETAILS);
  if (err instanceof SlipwayError) metadata.set(REASON_METADATA_KEY, err.reason);
  if (err instanceof InvalidInputError) {
    const fields = err.fields
      .slice(0, 50)
      .map((f) => ({ field: clip(f.field, 256), message: clip(f.message, MAX_FIELD_MESSAGE) }));
    metadata.set(FIELDS_METADATA_KEY, asciiJson(fields));
  }
  return { code: codeOf(err), details, metadata };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * JSON in printable ASCII, as a metadata value must be: a field error may quote what the client
 * sent, and grpc-js throws on anything else (which, in a callback, ended the process).
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Errors nats.js raises while the server is unreachable, restarting or electing a leader: the
 * request may well succeed when retried.
 */
const NATS_UNAVAILABLE = new Set([
  'TimeoutError',
  'NoRespondersError',
  'ClosedConnectionError',
  'ConnectionError',
  'RequestError',
  'JetStreamNotEnabled',
]);

/**
 * JetStream API answers of a cluster between leaders (nats-server's errors.json): 10008
 * "JetStream system temporarily unavailable", 10009 "cluster can not handle request" (not the
 * leader), 10039 "JetStream not enabled for account" (a node still starting), 10118/10119
 * stream/consumer offline. Any other 503 answer is also a "try again".
 */
const JETSTREAM_UNAVAILABLE_CODES = new Set([10008, 10009, 10039, 10118, 10119]);

export function isNatsUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (NATS_UNAVAILABLE.has(err.name) || NATS_UNAVAILABLE.has(err.constructor.name)) return true;
  if (err.name === 'JetStreamApiError') {
    const e = err as Error & { code?: unknown; status?: unknown };
    return e.status === 503 || (typeof e.code === 'number' && JETSTREAM_UNAVAILABLE_CODES.has(e.code));
  }
  // A plain error wrapping one (not one of ours: those say what they are) is as unavailable.
  if (err instanceof SlipwayError) return false;
  return err.cause !== undefined && err.cause !== err && isNatsUnavailable(err.cause);
}

function codeOf(err: unknown): grpc.status {
  if (isNatsUnavailable(err)) return grpc.status.UNAVAILABLE;
  if (err instanceof InvalidInputError) return grpc.status.INVALID_ARGUMENT;
  if (err instanceof NotFoundError) return grpc.status.NOT_FOUND;
  if (err instanceof AlreadyExistsError) return grpc.status.ALREADY_EXISTS;
  if (err instanceof ConflictError) return grpc.status.ABORTED;
  if (err instanceof StaleAttemptError) return grpc.status.FAILED_PRECONDITION;
  if (err instanceof BuildAlreadyTerminalError) return grpc.status.FAILED_PRECONDITION;
  if (err instanceof BuildStillRunningError) return grpc.status.FAILED_PRECONDITION;
  if (err instanceof NodeSelectorMismatchError) return grpc.status.FAILED_PRECONDITION;
  if (err instanceof UnavailableError) return grpc.status.UNAVAILABLE;
  if (err instanceof UnauthenticatedError) return grpc.status.UNAUTHENTICATED;
  if (err instanceof PermissionDeniedError) return grpc.status.PERMISSION_DENIED;
  if (err instanceof AbortedError) return grpc.status.CANCELLED;
  return grpc.status.INTERNAL;
}

/** The reason a server put on a failed call, or '' when it put none. */
export function reasonOf(err: unknown): string {
  const md = (err as { metadata?: grpc.Metadata } | null)?.metadata;
  const value = md instanceof grpc.Metadata ? md.get(REASON_METADATA_KEY)[0] : undefined;
  return typeof value === 'string' ? value : '';
}

/** True for a gRPC error that says the server was not reached or did not answer: worth a retry. */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.ABORTED;
}
