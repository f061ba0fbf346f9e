import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Teardowns } from './teardowns.js';

/** A pass-through in front of a real registry that records manifest PUTs and can fail some. */
export interface RegistryProxy {
  /** host:port to name images by (loopback: plain HTTP). */
  address: string;
  /** The manifest PUTs that reached the registry, oldest first: `<repository>` and the tag or digest put. */
  manifestPuts(): { repository: string; reference: string }[];
  /** How many manifest PUTs it failed. */
  injected(): number;
}

/**
 * Starts a pass-through to the registry at `upstream` (host:port), stopped when `t` ends. The
 * first `failManifestPuts` manifest PUTs are answered 500 and not passed on (a daemon does not
 * retry those itself). Blob uploads go to the Location the registry answers, the registry itself.
 */
export async function startRegistryProxy(
  t: Teardowns,
  upstream: string,
  o: { failManifestPuts?: number } = {},
): Promise<RegistryProxy> {
  const [host, port] = upstream.split(':') as [string, string];
  let injected = 0;
  const puts: { repository: string; reference: string }[] = [];
  const server = http.createServer((req, res) => {
    const manifest = /^\/v2\/(.+)\/manifests\/([^/?]+)/.exec(req.url ?? '');
    if (req.method === 'PUT' && manifest) {
      if (injected < (o.failManifestPuts ?? 0)) {
        injected++;
        req.resume();
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'injected by the test' }] }));
        return;
      }
      puts.push({ repository: manifest[1]!, reference: decodeURIComponent(manifest[2]!) });
    }
    const up = http.request(
      { host, port: Number(port), path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', (err) => res.destroy(err));
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    manifestPuts: () => [...puts],
    injected: () => injected,
  };
}
