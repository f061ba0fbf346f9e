import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Teardowns } from './teardowns.js';

/** LFS objects and the part of the LFS API git-lfs downloads with (batch, basic transfer). */
export interface LfsStore {
  /** Stores `content` and returns the pointer file git holds in its place. */
  add(content: string): string;
  /**
   * Answers a request whose path below the LFS endpoint is `rest` (`/objects/batch`, or
   * `/objects/<oid>`), downloads linking to `${endpoint}/objects/<oid>`; false: not an LFS path.
   */
  handle(req: http.IncomingMessage, res: http.ServerResponse, rest: string, endpoint: string): boolean;
}

export function lfsStore(): LfsStore {
  const objects = new Map<string, Buffer>();
  return {
    add(content) {
      const data = Buffer.from(content);
      const oid = createHash('sha256').update(data).digest('hex');
      objects.set(oid, data);
      return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${data.length}\n`;
    },
    handle(req, res, rest, endpoint) {
      if (req.method === 'POST' && rest === '/objects/batch') {
        const body: Buffer[] = [];
        req.on('data', (c: Buffer) => body.push(c));
        req.on('end', () => {
          const batch = JSON.parse(Buffer.concat(body).toString()) as { objects: { oid: string; size: number }[] };
          res.writeHead(200, { 'Content-Type': 'application/vnd.git-lfs+json' });
          res.end(
            JSON.stringify({
              transfer: 'basic',
              objects: batch.objects.map(({ oid, size }) =>
                objects.has(oid)
                  ? { oid, size, actions: { download: { href: `${endpoint}/objects/${oid}` } } }
                  : { oid, size, error: { code: 404, message: 'object not found' } },
              ),
            }),
          );
        });
        return true;
      }
      const object = objects.get(/^\/objects\/([0-9a-f]{64})$/.exec(rest)?.[1] ?? '');
      if (req.method !== 'GET' || !object) return false;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(object);
      return true;
    },
  };
}

export interface LfsServer {
  /** The LFS endpoint (an `lfs.url`): http://127.0.0.1:PORT/lfs */
  url: string;
  /** Stores `content` and returns the pointer file git holds in its place. */
  add(content: string): string;
  /** The Authorization headers of the requests it answered, in order (undefined: none sent). */
  authorizations: () => (string | undefined)[];
}

/**
 * A real Git LFS server over HTTP (the batch API, basic transfer: download only), holding the
 * objects `add` gave it, for git-lfs to fetch from. Public: it answers without credentials, and
 * 404 to any other path.
 */
export async function startLfsServer(t: Teardowns): Promise<LfsServer> {
  const store = lfsStore();
  const authorizations: (string | undefined)[] = [];
  let url = '';
  const server = http.createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    const path = new URL(req.url!, 'http://x').pathname;
    if (path.startsWith('/lfs/') && store.handle(req, res, path.slice('/lfs'.length), url)) return;
    req.resume();
    res.writeHead(404);
    res.end('not found\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/lfs`;
  return { url, add: (content) => store.add(content), authorizations: () => [...authorizations] };
}
