import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';

/**
 * The coordinator's plain HTTP port (SLIPWAY_HTTP_LISTEN): what is not gRPC and not the
 * Kubernetes API. Each feature registers its own routes on it and owns what they answer:
 *
 *   /healthz            here (200 while the coordinator serves)
 *   /metrics            coordinator/metrics/
 *   /webhooks/…         coordinator/triggers/
 *   /, /ui/…, /api/…    coordinator/dashboard/
 *
 * A route's pattern is a path whose `:name` segments capture one path segment each (decoded).
 */
export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
) => void | Promise<void>;

export interface HttpServerOptions {
  /** host:port; port 0 picks a free one. */
  listen: string;
  log: Logger;
}

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: RouteHandler;
}

export class HttpServer {
  private readonly routes: Route[] = [];
  private serving = false;

  private constructor(
    private readonly server: http.Server,
    /** host:port it listens on, with the real port. */
    readonly address: string,
    private readonly log: Logger,
  ) {}

  static async start(options: HttpServerOptions): Promise<HttpServer> {
    // Plain HTTP: in a cluster an Ingress terminates TLS in front of it (webhooks come from outside).
    const server = http.createServer();
    const colon = options.listen.lastIndexOf(':');
    const host = options.listen.slice(0, colon) || '0.0.0.0';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(options.listen.slice(colon + 1)), host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    const s = new HttpServer(server, `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`, options.log);
    server.on('request', (req, res) => void s.dispatch(req, res));
    s.route('GET', '/healthz', (_req, res) => {
      res.writeHead(s.serving ? 200 : 503, { 'content-type': 'text/plain' }).end(s.serving ? 'ok\n' : 'not serving\n');
    });
    return s;
  }

  /** Whether /healthz answers 200. */
  setServing(serving: boolean): void {
    this.serving = serving;
  }

  /** Adds a route; the first registered route that matches a request answers it. */
  route(method: string, pattern: string, handler: RouteHandler): void {
    this.routes.push({ method, pattern, segments: pattern.split('/').filter(Boolean), handler });
  }

  /** The base URL clients use, e.g. http://127.0.0.1:8080. */
  get url(): string {
    return `http://${this.address}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // Open streams (live dashboards, log follows) would hold close() forever.
      this.server.closeAllConnections();
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    let segments: string[];
    try {
      segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed path\n');
      return;
    }
    let pathMatched = false;
    for (const route of this.routes) {
      const params = match(route.segments, segments);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== req.method && !(route.method === 'GET' && req.method === 'HEAD')) continue;
      try {
        await route.handler(req, res, params);
      } catch (err) {
        // Handlers answer their own errors; this is the backstop, and it says nothing internal.
        // The route's pattern, not the path: a path may carry a secret (generic webhooks).
        this.log.warn('HTTP handler failed', { method: req.method, route: route.pattern, error: errorMessage(err) });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      }
      return;
    }
    res
      .writeHead(pathMatched ? 405 : 404, { 'content-type': 'text/plain' })
      .end(pathMatched ? `method ${req.method} not allowed\n` : 'not found\n');
  }
}

function match(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = segments[i]!;
    else if (p !== segments[i]) return undefined;
  }
  return params;
}

/** Reads a request body of at most `limit` bytes. @throws BodyTooLargeError past it. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
  }
}

/** Answers `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

/**
 * Aborts when the client goes away or `stopping` aborts: for streams (watches, log follows).
 * The response's 'close' is the signal: it comes when the answer is done or the connection
 * went, while a request's own 'close' comes as soon as its body was read (for a GET, at once).
 */
export function abortOnClose(res: ServerResponse, stopping: AbortSignal): AbortController {
  const c = new AbortController();
  const abort = () => c.abort();
  res.once('close', abort);
  if (stopping.aborted) abort();
  else stopping.addEventListener('abort', abort, { once: true });
  c.signal.addEventListener('abort', () => stopping.removeEventListener('abort', abort), { once: true });
  return c;
}
