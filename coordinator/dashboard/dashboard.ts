import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenAuthenticator } from '../auth/index.js';
import type { HttpServer } from '../http/http-server.js';
import { DashboardAuth } from './api-auth.js';
import { registerDashboardApi, type DashboardApiDeps } from './api.js';
import { setSecurityHeaders } from './answers.js';
import { asset, loadAssets, type Asset } from './assets.js';
import { pageHtml, type PageName } from './pages.js';

export interface DashboardOptions extends Omit<DashboardApiDeps, 'auth'> {
  /** The API's tokens (SLIPWAY_API_TOKENS_FILE); undefined: everyone may read (local mode). */
  tokens: TokenAuthenticator | undefined;
}

/**
 * The web dashboard on the coordinator's HTTP port: pages under /ui/, their files under
 * /ui/assets/, and the read-only API they use under /api/v1/ (api.ts). Pages and files hold no
 * data and are open to all; every API call is checked (DashboardAuth).
 *
 *   /                                 → /ui/namespaces/default/builds
 *   /ui/namespaces/NS/builds          the namespace's builds, live
 *   /ui/namespaces/NS/builds/NAME     one build: status, stages, events, its log followed
 *   /ui/agents                        the agents
 */
export async function registerDashboard(http: HttpServer, o: DashboardOptions): Promise<void> {
  const assets = await loadAssets();
  const pages = new Map<PageName, Asset>(
    (['builds', 'build', 'agents'] as const).map((p) => [p, asset(pageHtml(p), 'text/html; charset=utf-8')]),
  );
  const page = (name: PageName) => (req: IncomingMessage, res: ServerResponse) => serve(req, res, pages.get(name)!);
  const home = (_req: IncomingMessage, res: ServerResponse) => {
    setSecurityHeaders(res);
    res
      .writeHead(302, { Location: '/ui/namespaces/default/builds', 'Content-Type': 'text/plain' })
      .end('see /ui/namespaces/default/builds\n');
  };
  http.route('GET', '/', home);
  http.route('GET', '/ui', home);
  http.route('GET', '/ui/namespaces/:namespace/builds', page('builds'));
  http.route('GET', '/ui/namespaces/:namespace/builds/:name', page('build'));
  http.route('GET', '/ui/agents', page('agents'));
  http.route('GET', '/ui/assets/:file', (req, res, p) => {
    const a = assets.get(p.file!);
    if (!a) {
      setSecurityHeaders(res);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    serve(req, res, a);
  });
  registerDashboardApi(http, { ...o, auth: new DashboardAuth(o.tokens) });
}

/** A file, revalidated by ETag on every load (no-cache), so a new coordinator's files are used at once. */
function serve(req: IncomingMessage, res: ServerResponse, a: Asset): void {
  setSecurityHeaders(res);
  const headers = { 'Content-Type': a.contentType, ETag: a.etag, 'Cache-Control': 'no-cache' };
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': a.body.length });
  res.end(req.method === 'HEAD' ? undefined : a.body);
}
