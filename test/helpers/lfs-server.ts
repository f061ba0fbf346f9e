import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Teardowns } from './teardowns.js';

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
 * objects `add` gave it, for git-lfs to fetch from. Public: it answers without credentials.
 */
export async function startLfsServer(t: Teardowns): Promise<LfsServer> {
  const objects = new Map<string, Buffer>();
  const authorizations: (string | undefined)[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      if (req.method === 'POST' && url.pathname === '/lfs/objects/batch') {
        const batch = JSON.parse(Buffer.concat(body).toString()) as { objects: { oid: string; size: number }[] };
        res.writeHead(200, { 'Content-Type': 'application/vnd.git-lfs+json' });
        res.end(
          JSON.stringify({
            transfer: 'basic',
            objects: batch.objects.map(({ oid, size }) =>
              objects.has(oid)
                ? { oid, size, authenticated: true, actions: { download: { href: `${base}/lfs/objects/${oid}` } } }
                : { oid, size, error: { code: 404, message: 'object not found' } },
            ),
          }),
        );
        return;
      }
      const oid = /^\/lfs\/objects\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
      const object = oid ? objects.get(oid) : undefined;
      if (req.method === 'GET' && object) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end(object);
        return;
      }
      res.writeHead(404);
      res.end('not found\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/lfs`,
    add(content) {
      const data = Buffer.from(content);
      const oid = createHash('sha256').update(data).digest('hex');
      objects.set(oid, data);
      return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${data.length}\n`;
    },
    authorizations: () => [...authorizations],
  };
}
