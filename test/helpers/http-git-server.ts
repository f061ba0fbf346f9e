import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LfsStore } from './lfs-server.js';
import type { Teardowns } from './teardowns.js';

/**
 * A real git smart-HTTP server: `git http-backend` run as a CGI behind a small Node HTTP
 * server that requires basic auth, as a private GitHub or GitLab would. Serves the bare
 * repositories under `root`, and with `lfs` their Git LFS objects at `<repo>.git/info/lfs`
 * (the endpoint git-lfs derives from the repository's URL), behind the same auth.
 */
export async function startHttpGitServer(
  t: Teardowns,
  root: string,
  user: string,
  token: string,
  o: { lfs?: LfsStore } = {},
): Promise<{ base: string; requests: () => number }> {
  const expected = `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="slipway-test"' });
      res.end('authentication required\n');
      return;
    }
    const url = new URL(req.url!, 'http://x');
    const lfs = /^(\/[^?]*?\.git\/info\/lfs)(\/.*)$/.exec(url.pathname);
    if (lfs && o.lfs?.handle(req, res, lfs[2]!, `http://${req.headers.host}${lfs[1]}`)) return;
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method,
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    // A CGI answer: header lines, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const [k, v] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}
