import type { ServerResponse } from 'node:http';
import {
  NotFoundError,
  InvalidInputError,
  PermissionDeniedError,
  RevisionExpiredError,
  SlipwayError,
  UnauthenticatedError,
  errorMessage,
} from '../../common/errors.js';
import { isNatsUnavailable } from '../../common/grpc/status.js';
import type { Logger } from '../../common/log.js';
import { sendJson } from '../http/http-server.js';

/**
 * Headers on every dashboard answer. The page loads nothing but its own files (no inline script
 * or style, no other origin), cannot be framed, sends no Referer (build URLs name namespaces),
 * and the browser must take each file as the type it is served as.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/** The body of every error answer of the dashboard's API, and of an ERROR line in a stream. */
export interface ApiError {
  /** HTTP status. */
  code: number;
  /** Stable CamelCase reason (the error's own, e.g. BuildNotFound, Forbidden). */
  reason: string;
  message: string;
  /** For invalid input: each field at fault. */
  fields?: readonly { field: string; message: string }[];
}

/**
 * The dashboard API's errors as HTTP statuses. Messages of our own errors are safe to show (they
 * never carry tokens or secrets); anything else is a 500 whose cause goes to the log only.
 */
export function toApiError(err: unknown, log: Logger): ApiError {
  if (err instanceof UnauthenticatedError) return { code: 401, reason: err.reason, message: err.message };
  if (err instanceof PermissionDeniedError) return { code: 403, reason: err.reason, message: err.message };
  if (err instanceof InvalidInputError)
    return { code: 400, reason: err.reason, message: err.message, fields: err.fields };
  if (err instanceof NotFoundError) return { code: 404, reason: err.reason, message: err.message };
  if (err instanceof RevisionExpiredError) return { code: 410, reason: err.reason, message: err.message };
  if (isNatsUnavailable(err))
    return { code: 503, reason: 'Unavailable', message: 'the state store is unavailable; try again' };
  log.warn('dashboard API call failed', {
    error: errorMessage(err),
    reason: err instanceof SlipwayError ? err.reason : undefined,
  });
  return { code: 500, reason: 'InternalError', message: 'internal error' };
}

export function sendApiError(res: ServerResponse, err: unknown, log: Logger): void {
  const e = toApiError(err, log);
  if (e.code === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="slipway"');
  sendJson(res, e.code, e);
}

/** An answer in newline-delimited JSON: one object a line, written as it comes. */
export interface NdjsonWriter {
  write(value: unknown): void;
  /** Writes each value as a line, all in one write. */
  writeAll(values: readonly unknown[]): void;
  end(): void;
}

/** While nothing else is written, a `{"type":"PING"}` line this often keeps proxies from closing an idle stream. */
export const PING_INTERVAL_MS = 20_000;

/** Starts a 200 NDJSON answer. Pings stop when it ends (or the connection goes). */
export function startNdjson(res: ServerResponse, pingIntervalMs = PING_INTERVAL_MS): NdjsonWriter {
  res.writeHead(200, {
    'Content-Type': 'application/x-ndjson; charset=utf-8',
    'Cache-Control': 'no-store',
    // Tells nginx-style proxies not to hold lines back.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  let idle = true;
  const ping = setInterval(() => {
    if (idle) res.write('{"type":"PING"}\n');
    idle = true;
  }, pingIntervalMs);
  res.once('close', () => clearInterval(ping));
  const writeAll = (values: readonly unknown[]) => {
    idle = false;
    if (values.length === 0 || res.writableEnded || res.destroyed) return;
    res.write(`${values.map((v) => JSON.stringify(v)).join('\n')}\n`);
  };
  return {
    write: (value) => writeAll([value]),
    writeAll,
    end() {
      clearInterval(ping);
      if (!res.writableEnded) res.end();
    },
  };
}
