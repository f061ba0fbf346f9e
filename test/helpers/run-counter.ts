import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Teardowns } from './teardowns.js';

/** An HTTP server on 127.0.0.1 that counts the requests made to each path. */
export interface RunCounter {
  /** `http://127.0.0.1:PORT`, with no trailing slash. */
  url: string;
  /**
   * The shell command a RUN step runs to report one execution under `key` (`c12`, or `$N` for the
   * shell to expand): a request for `/run/<key>` with busybox's wget, so the base image is enough.
   * It fails the step when the counter does not answer.
   */
  command(key: string): string;
  /** Executions reported so far per key (`c12` → 1). A key never reported is absent. */
  runs(): Map<string, number>;
  /** Requests so far per path, `/run/…` and any other (`/run/c12` → 1). */
  hits(): Map<string, number>;
  /** Every request so far, in the order they arrived, with when (ms since the epoch). */
  requests(): { path: string; atMs: number }[];
}

/**
 * Starts a counter of RUN step executions, stopped when `t` ends. A BuildKit RUN step is no Docker
 * container (no `container start` event), so a step is counted when it reaches this server: its
 * command asks `command(key)` as part of the step. Works for builds whose RUN steps get the host's
 * network: a daemon without a bridge (`--bridge=none`, every daemon of this repository's tests,
 * the private ones too) builds with `networkmode=host`, in this machine's network namespace.
 */
export async function startRunCounter(t: Teardowns): Promise<RunCounter> {
  const counts = new Map<string, number>();
  const arrived: { path: string; atMs: number }[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://counter').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    arrived.push({ path, atMs: Date.now() });
    res.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'close' }).end('counted\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    command: (key) => `wget -q -O /dev/null ${url}/run/${key}`,
    runs: () =>
      new Map([...counts].filter(([p]) => p.startsWith('/run/')).map(([p, n]) => [p.slice('/run/'.length), n])),
    hits: () => new Map(counts),
    requests: () => [...arrived],
  };
}
