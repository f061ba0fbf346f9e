import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../common/log.js';
import type { CacheStorage } from './storage.js';

/** Where the front reports each blob it served: from storage (hit) or fetched upstream (miss). */
export interface BlobObserver {
  blobServed(hit: boolean): void;
}

export interface FrontOptions {
  /** host:port to serve the mirror on. */
  listen: string;
  /** host:port of the internal registry. */
  registry: string;
  storage: CacheStorage;
  observer: BlobObserver;
  log: Logger;
}

const BLOB_GET = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/;

/**
 * The mirror as daemons see it: every request is streamed to the internal registry unchanged.
 * A successful GET of a blob is a hit when the blob's content was in storage before the
 * request (the registry serves it from disk), a miss otherwise (the registry fetches it from
 * the upstream). Registry 2.8 reports neither, which is why this front exists.
 */
export class CacheFront {
  private constructor(
    private readonly server: http.Server,
    /** host:port it listens on. */
    readonly address: string,
  ) {}

  static async start(o: FrontOptions): Promise<CacheFront> {
    const [registryHost, registryPort] = splitHostPort(o.registry);
    const server = http.createServer((req, res) => {
      const blob = req.method === 'GET' ? BLOB_GET.exec((req.url ?? '').split('?')[0]!) : null;
      const digest = blob?.[2];
      const forward = (hit: boolean | undefined) => {
        const upstream = http.request(
          { host: registryHost, port: registryPort, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
            answer.pipe(res);
            answer.once('error', () => res.destroy());
            if (digest === undefined || hit === undefined || answer.statusCode !== 200) return;
            answer.once('end', () => {
              o.observer.blobServed(hit);
              // A hit is an access the registry does not record; the sweep reads it from here.
              if (hit) void o.storage.touch(digest);
            });
          },
        );
        upstream.once('error', (err) => {
          o.log.warn('the internal registry did not answer', { method: req.method, path: req.url, error: err.message });
          // Mid-answer, the client must see a broken transfer, not a short body.
          if (res.headersSent) return void res.destroy();
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'node cache: registry unavailable' }] }));
        });
        req.pipe(upstream);
      };
      if (digest === undefined) forward(undefined);
      else o.storage.hasBlob(digest).then(forward, () => forward(undefined));
    });
    const [host, port] = splitHostPort(o.listen);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host || '0.0.0.0', () => resolve());
    });
    const a = server.address() as AddressInfo;
    return new CacheFront(server, `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
  }

  /** Stops listening and ends open connections. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function splitHostPort(hostPort: string): [string, number] {
  const colon = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), Number(hostPort.slice(colon + 1))];
}
