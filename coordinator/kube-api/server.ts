import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { ConflictError, InvalidInputError, InvalidPageTokenError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Build, BuildConfig, Versioned } from '../../api/types.js';
import type { RequestAttributes, UserInfo } from '../auth/types.js';
import { requireName } from '../../api/validation.js';
import { MAX_PAGE_SIZE, type BuildApi, type StorePageRequest } from '../builds/build-api.js';
import type { BuildLogs } from '../logs/build-logs.js';
import { sortKey } from '../store/key-order.js';
import type { StoreChange, StorePage, StoreSnapshot } from '../store/json-store.js';
import { abortOnClose } from '../http/http-server.js';
import { apiGroup, apiGroupList, apiResourceList, coreApiVersions, versionInfo } from './discovery.js';
import { applyMergePatch } from './merge-patch.js';
import {
  buildConfigFromKube,
  buildConfigToKube,
  buildMetadataFromKube,
  buildRequestFromKube,
  buildToKube,
  isRecord,
  type KubeObject,
} from './objects.js';
import { groupVersionDocument, openApiIndex } from './openapi.js';
import { API_VERSION, BUILDCONFIGS, BUILDS, GROUP, VERSION, resourceByPlural, type ResourceInfo } from './resources.js';
import { parseSelector } from './selectors.js';
import { KubeHttpError, success, toKubeStatus } from './status.js';
import { toTable, wantsTable, type IncludeObject } from './table.js';
import { serveWatch, type WatchEventType } from './watch.js';

export type { RequestAttributes, UserInfo } from '../auth/types.js';

export interface KubeApiTls {
  key: string | Buffer;
  cert: string | Buffer;
  /** CAs whose client certificates the TLS layer asks for; `authenticate` decides what they mean. */
  clientCA?: string | Buffer;
}

export interface KubeApiServerOptions {
  /** host:port; port 0 picks a free one. */
  listen: string;
  /**
   * Who is calling; throw (or reject) to answer 401. Default: everyone is `system:anonymous`
   * and `authorize` allows all, which is for local use only: behind the cluster's aggregator
   * the chart plugs in delegated authentication and authorization here.
   */
  authenticate?: (req: http.IncomingMessage) => Promise<UserInfo>;
  authorize?: (user: UserInfo, attributes: RequestAttributes) => Promise<boolean>;
  /** Serve HTTPS with these (the aggregator only talks TLS); plain HTTP without. */
  tls?: KubeApiTls;
  /** How often a watch that asked for bookmarks gets one. */
  bookmarkIntervalMs?: number;
  /** Longest a watch lasts unless it asks for less (timeoutSeconds). */
  maxWatchMs?: number;
  clock?: () => Date;
  log: Logger;
}

const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);
const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** A parsed resource URL: /apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME[/SUB]]. */
interface ResourcePath {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * The Kubernetes API of group build.slipway.dev, served the way an aggregated API server
 * serves it: discovery, OpenAPI v3, BuildConfigs and Builds (get, list, watch, create,
 * update, merge patch, delete; Tables for kubectl get), `buildconfigs/instantiate` and
 * `builds/log`. Everything goes through BuildApi, so validation and compare-and-set are the
 * gRPC API's.
 */
export class KubeApiServer {
  private readonly connections = new Set<import('node:net').Socket>();
  private readonly stopping = new AbortController();
  private readonly authenticate: (req: http.IncomingMessage) => Promise<UserInfo>;
  private readonly authorize: (user: UserInfo, attributes: RequestAttributes) => Promise<boolean>;
  private readonly clock: () => Date;

  private constructor(
    private readonly server: http.Server,
    private readonly api: BuildApi,
    private readonly logs: BuildLogs,
    private readonly o: KubeApiServerOptions,
  ) {
    this.authenticate = o.authenticate ?? (async () => ANONYMOUS);
    this.authorize = o.authorize ?? (async () => true);
    this.clock = o.clock ?? (() => new Date());
  }

  /** The bound address (host:port), with the real port when 0 was asked for. */
  address = '';

  static async start(api: BuildApi, logs: BuildLogs, options: KubeApiServerOptions): Promise<KubeApiServer> {
    const server = options.tls
      ? https.createServer({
          key: options.tls.key,
          cert: options.tls.cert,
          ...(options.tls.clientCA ? { ca: options.tls.clientCA, requestCert: true, rejectUnauthorized: false } : {}),
        })
      : http.createServer();
    const s = new KubeApiServer(server, api, logs, options);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void s.handle(req, res));
    server.on('connection', (c) => {
      s.connections.add(c);
      c.once('close', () => s.connections.delete(c));
    });
    const at = options.listen.lastIndexOf(':');
    const host = options.listen.slice(0, at);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(options.listen.slice(at + 1)), host || undefined, () => resolve());
    });
    s.address = `${host}:${(server.address() as AddressInfo).port}`;
    return s;
  }

  /** Ends watches and log streams, closes idle connections, and stops listening. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.connections.forEach((c) => c.destroy()), 1000).unref();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let target: ResourcePath | undefined;
    try {
      // Probes (the kubelet's carry no credentials) pass, as the apiserver's always-allowed paths.
      if ((req.method === 'GET' || req.method === 'HEAD') && HEALTH_PATHS.has(url.pathname))
        return this.serveNonResource(req, res, url, segments);
      const user = await this.authenticate(req).catch((err: unknown) => {
        throw new KubeHttpError(401, 'Unauthorized', `Unauthorized: ${errorMessage(err)}`);
      });
      target = this.resourcePath(segments);
      const attributes = this.attributes(req.method ?? 'GET', url, target);
      if (!(await this.authorize(user, attributes))) {
        const what = target
          ? `${target.resource.plural}${target.subresource ? `/${target.subresource}` : ''}`
          : `path "${url.pathname}"`;
        throw new KubeHttpError(
          403,
          'Forbidden',
          `User "${user.username}" cannot ${attributes.verb} ${what}${target ? ` in API group "${GROUP}"` : ''}${target?.namespace ? ` in the namespace "${target.namespace}"` : ''}`,
        );
      }
      if (target) await this.serveResource(req, res, url, target);
      else this.serveNonResource(req, res, url, segments);
    } catch (err) {
      const status = toKubeStatus(err, target && { resource: target.resource, name: target.name });
      if (status.code >= 500)
        this.o.log.warn('kube api request failed', {
          method: req.method,
          path: url.pathname,
          error: errorMessage(err),
        });
      if (res.headersSent) res.end();
      else json(res, status.code, status);
    }
  }

  private resourcePath(s: string[]): ResourcePath | undefined {
    if (s[0] !== 'apis' || s[1] !== GROUP || s[2] !== VERSION || s.length < 4) return undefined;
    let rest = s.slice(3);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const resource = resourceByPlural(rest[0]!);
    if (!resource || rest.length > 3 || (namespace === undefined && rest.length > 1))
      throw new KubeHttpError(404, 'NotFound', 'the server could not find the requested resource');
    if (rest[2] !== undefined && rest[2] !== resource.subresource.name)
      throw new KubeHttpError(
        404,
        'NotFound',
        `the server could not find the requested resource (${rest[0]}/${rest[2]})`,
      );
    return { resource, namespace, name: rest[1], subresource: rest[2] };
  }

  private attributes(method: string, url: URL, t: ResourcePath | undefined): RequestAttributes {
    if (!t) return { verb: method.toLowerCase(), resourceRequest: false, path: url.pathname };
    const verbs: Record<string, string> = {
      GET: t.name
        ? 'get'
        : url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1'
          ? 'watch'
          : 'list',
      POST: 'create',
      PUT: 'update',
      PATCH: 'patch',
      DELETE: 'delete',
    };
    return {
      verb: verbs[method] ?? method.toLowerCase(),
      resourceRequest: true,
      path: url.pathname,
      apiGroup: GROUP,
      apiVersion: VERSION,
      resource: t.resource.plural,
      ...(t.subresource ? { subresource: t.subresource } : {}),
      ...(t.namespace ? { namespace: t.namespace } : {}),
      ...(t.name ? { name: t.name } : {}),
    };
  }

  private serveNonResource(req: http.IncomingMessage, res: http.ServerResponse, url: URL, s: string[]): void {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new KubeHttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${url.pathname}`);
    const p = s.join('/');
    if (p === 'healthz' || p === 'livez' || p === 'readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    } else if (p === 'version') json(res, 200, versionInfo());
    else if (p === 'api') json(res, 200, coreApiVersions());
    else if (p === 'apis') json(res, 200, apiGroupList());
    else if (p === `apis/${GROUP}`) json(res, 200, apiGroup());
    else if (p === `apis/${GROUP}/${VERSION}`) json(res, 200, apiResourceList());
    else if (p === 'openapi/v3') json(res, 200, openApiIndex());
    else if (p === `openapi/v3/apis/${GROUP}/${VERSION}`) {
      const { doc, hash } = groupVersionDocument();
      res.writeHead(200, {
        'Content-Type': 'application/json',
        ETag: `"${hash}"`,
        'Cache-Control': url.searchParams.get('hash') === hash ? 'public, immutable' : 'no-cache, private',
      });
      res.end(doc);
    } else throw new KubeHttpError(404, 'NotFound', 'the server could not find the requested resource');
  }

  private async serveResource(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    t: ResourcePath,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    if (t.namespace !== undefined) requireName(t.namespace, 'metadata.namespace');
    if (t.subresource === 'log' && method === 'GET') return this.serveLog(res, t.namespace!, t.name!, q);
    if (t.subresource === 'instantiate' && method === 'POST') return this.instantiate(req, res, t.namespace!, t.name!);
    if (t.subresource) throw notAllowed(method, `${t.resource.plural}/${t.subresource}`);
    const table = wantsTable(req.headers.accept);
    if (method === 'GET' && !t.name) return this.listOrWatch(res, t, q, table);
    if (t.namespace === undefined) throw notAllowed(method, t.resource.plural);
    if (method === 'GET') {
      const obj = await this.read(t.resource, t.namespace, t.name!);
      return json(
        res,
        200,
        table ? toTable(t.resource, [obj], { includeObject: includeObject(q), now: this.clock() }) : obj,
      );
    }
    if (t.resource === BUILDCONFIGS) {
      if (method === 'POST' && !t.name) {
        const body = await readBody(req);
        // Named in errors about it, as the apiserver does.
        if (isRecord(body) && isRecord(body.metadata) && typeof body.metadata.name === 'string')
          t.name = body.metadata.name;
        const { input } = buildConfigFromKube(body, { namespace: t.namespace });
        return json(res, 201, buildConfigToKube(await this.api.createBuildConfig(input)));
      }
      if (method === 'PUT') {
        const { input, resourceVersion } = buildConfigFromKube(await readBody(req), {
          namespace: t.namespace,
          name: t.name,
        });
        return json(res, 200, buildConfigToKube(await this.api.updateBuildConfig(input, resourceVersion)));
      }
      if (method === 'PATCH')
        return json(res, 200, buildConfigToKube(await this.patchBuildConfig(req, t.namespace, t.name!)));
    }
    if (t.resource === BUILDS && (method === 'PUT' || method === 'PATCH')) {
      return json(res, 200, buildToKube(await this.updateBuild(req, method, t.namespace, t.name!)));
    }
    if (method === 'DELETE' && t.name) {
      const precondition = deletePrecondition(await readBody(req, true));
      const deleted =
        t.resource === BUILDCONFIGS
          ? await this.api.deleteBuildConfig(t.namespace, t.name, precondition)
          : await this.api.deleteBuild(t.namespace, t.name, precondition);
      return json(
        res,
        200,
        success({ name: t.name, group: GROUP, kind: t.resource.plural, uid: deleted.value.metadata.uid }),
      );
    }
    throw notAllowed(method, t.resource.plural);
  }

  private async read(resource: ResourceInfo, namespace: string, name: string): Promise<KubeObject> {
    return resource === BUILDCONFIGS
      ? buildConfigToKube(await this.api.getBuildConfig(namespace, name))
      : buildToKube(await this.api.getBuild(namespace, name));
  }

  /**
   * RFC 7386 merge patch (what `kubectl apply` and `kubectl patch --type merge` send) onto the
   * object as it is, then an update at the revision it was read at: a patch that names a
   * resourceVersion must find the object there (409 otherwise); one that does not is retried
   * on a newer revision, as the apiserver does.
   */
  private async patchBuildConfig(
    req: http.IncomingMessage,
    namespace: string,
    name: string,
  ): Promise<Versioned<BuildConfig>> {
    const patch = await readMergePatch(req);
    const pinned =
      isRecord(patch.metadata) &&
      patch.metadata.resourceVersion !== undefined &&
      patch.metadata.resourceVersion !== null;
    for (;;) {
      const current = buildConfigToKube(await this.api.getBuildConfig(namespace, name));
      const patched = applyMergePatch(current, patch);
      const { input, resourceVersion } = buildConfigFromKube(patched, { namespace, name });
      try {
        return await this.api.updateBuildConfig(input, resourceVersion ?? Number(current.metadata.resourceVersion));
      } catch (err) {
        if (!(err instanceof ConflictError) || pinned) throw err;
      }
    }
  }

  /** PUT or merge PATCH of a build: its labels and annotations (see buildMetadataFromKube). */
  private async updateBuild(
    req: http.IncomingMessage,
    method: string,
    namespace: string,
    name: string,
  ): Promise<Versioned<Build>> {
    const patch = method === 'PATCH' ? await readMergePatch(req) : undefined;
    const body = patch === undefined ? await readBody(req) : undefined;
    const pinned =
      patch === undefined ||
      (isRecord(patch.metadata) &&
        patch.metadata.resourceVersion !== undefined &&
        patch.metadata.resourceVersion !== null);
    for (;;) {
      const current = buildToKube(await this.api.getBuild(namespace, name));
      const meta = buildMetadataFromKube(patch === undefined ? body : applyMergePatch(current, patch), current);
      try {
        return await this.api.updateBuildMetadata(
          namespace,
          name,
          meta,
          meta.resourceVersion ?? (patch ? Number(current.metadata.resourceVersion) : undefined),
        );
      } catch (err) {
        if (!(err instanceof ConflictError) || pinned) throw err;
      }
    }
  }

  private async instantiate(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    namespace: string,
    name: string,
  ): Promise<void> {
    const overrides = buildRequestFromKube(await readBody(req, true), name);
    const build = await this.api.startBuild({ namespace, configName: name, ...overrides });
    json(res, 201, buildToKube(build));
  }

  /** `builds/NAME/log`: the current attempt's log as plain text; `follow=true` until the build ends. */
  private async serveLog(res: http.ServerResponse, namespace: string, name: string, q: URLSearchParams): Promise<void> {
    const follow = q.get('follow') === 'true' || q.get('follow') === '1';
    const attempt = q.get('attempt') ? Number(q.get('attempt')) : 0;
    if (!Number.isSafeInteger(attempt) || attempt < 0)
      throw new InvalidInputError([{ field: 'attempt', message: 'must be a whole number' }]);
    await this.api.getBuild(namespace, name);
    const stop = abortOnClose(res, this.stopping.signal);
    const batches = this.logs
      .stream({ namespace, name, follow, fromLine: 0, attempt }, stop.signal)
      [Symbol.asyncIterator]();
    // The first lines (or the end) come before the status line, so a refused request still
    // answers with its error; a followed build that has not logged yet gets its headers now.
    const first = follow ? undefined : await batches.next();
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    try {
      if (first && !first.done) res.write(`${first.value.texts.join('\n')}\n`);
      if (!first?.done)
        for (let n = await batches.next(); !n.done; n = await batches.next())
          res.write(`${n.value.texts.join('\n')}\n`);
    } catch (err) {
      if (!stop.signal.aborted) res.write(`error reading the log: ${errorMessage(err)}\n`);
    } finally {
      stop.abort();
      res.end();
    }
  }

  private async listOrWatch(
    res: http.ServerResponse,
    t: ResourcePath,
    q: URLSearchParams,
    table: boolean,
  ): Promise<void> {
    const labels = parseSelector(q.get('labelSelector'), 'labelSelector');
    const fields = parseSelector(q.get('fieldSelector'), 'fieldSelector');
    const matches = (key: string, value: Build | BuildConfig) => {
      const m = value.metadata;
      if (t.namespace !== undefined && key !== `${t.namespace}.${m.name}`) return false;
      return labels(m.labels ?? {}) && fields({ 'metadata.name': m.name, 'metadata.namespace': m.namespace });
    };
    const builds = t.resource === BUILDS;
    const toKube = (v: Versioned<Build | BuildConfig>) =>
      builds ? buildToKube(v as Versioned<Build>) : buildConfigToKube(v as Versioned<BuildConfig>);
    const snapshot = async (): Promise<StoreSnapshot<Build | BuildConfig>> => {
      const s = builds ? await this.api.snapshotBuilds(t.namespace) : await this.api.snapshotBuildConfigs(t.namespace);
      const items = s.items.filter((i) => matches(objectKey(i.value), i.value));
      // The order pages come in (key-order.ts), so a list reads the same with or without limit.
      const sorted = items.map((i) => [sortKey(objectKey(i.value)), i] as const).sort(([a], [b]) => (a < b ? -1 : 1));
      return { items: sorted.map(([, i]) => i), revision: s.revision };
    };
    const watch = q.get('watch') === 'true' || q.get('watch') === '1';
    const limit = parseLimit(q.get('limit'));
    const token = q.get('continue') || undefined;
    if (!watch && (limit > 0 || token)) {
      const selectors = `labelSelector=${q.get('labelSelector') ?? ''}&fieldSelector=${q.get('fieldSelector') ?? ''}`;
      const req: StorePageRequest<Build | BuildConfig> = {
        scope: `${t.namespace === undefined ? '>' : `${t.namespace}.*`}?${selectors}`,
        // A page may hold fewer items than the limit asked: the next one goes on.
        size: Math.min(limit || MAX_PAGE_SIZE, MAX_PAGE_SIZE),
        token,
        tokenField: 'continue',
        accept: matches,
      };
      let page: StorePage<Build | BuildConfig>;
      try {
        page = builds ? await this.api.pageBuilds(t.namespace, req) : await this.api.pageBuildConfigs(t.namespace, req);
      } catch (err) {
        // The apiserver's answer to a continue token it cannot use.
        if (err instanceof InvalidPageTokenError)
          throw new KubeHttpError(400, 'BadRequest', `continue key is not valid: ${err.fields[0]!.message}`);
        throw err;
      }
      const objects = page.items.map(toKube);
      const meta = {
        resourceVersion: String(page.revision),
        ...(page.nextToken
          ? {
              continue: page.nextToken,
              // Known only without selectors, as the apiserver says it: the keys left, not the matches.
              ...(q.get('labelSelector') || q.get('fieldSelector') ? {} : { remainingItemCount: page.remaining }),
            }
          : {}),
      };
      return json(
        res,
        200,
        table
          ? toTable(t.resource, objects, { ...meta, includeObject: includeObject(q), now: this.clock() })
          : { kind: t.resource.listKind, apiVersion: API_VERSION, metadata: meta, items: objects },
      );
    }
    if (!watch) {
      const s = await snapshot();
      const objects = s.items.map(toKube);
      const rv = String(s.revision);
      return json(
        res,
        200,
        table
          ? toTable(t.resource, objects, { resourceVersion: rv, includeObject: includeObject(q), now: this.clock() })
          : { kind: t.resource.listKind, apiVersion: API_VERSION, metadata: { resourceVersion: rv }, items: objects },
      );
    }

    // A watch from a version sends the changes after it; without one (or "0"), the state first.
    const rvParam = q.get('resourceVersion');
    let initial: Versioned<Build | BuildConfig>[] = [];
    let from: number;
    if (!rvParam || rvParam === '0') {
      const s = await snapshot();
      initial = s.items;
      from = s.revision;
    } else {
      from = Number(rvParam);
      if (!Number.isSafeInteger(from) || from < 0)
        throw new KubeHttpError(400, 'BadRequest', `resourceVersion "${rvParam}" is not a resource version`);
      const latest = builds ? await this.api.latestBuildRevision() : await this.api.latestBuildConfigRevision();
      if (from > latest)
        throw new KubeHttpError(504, 'Timeout', `Too large resource version: ${from}, current: ${latest}`);
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 0);
    const maxMs = this.o.maxWatchMs ?? 30 * 60_000;
    const stop = abortOnClose(res, this.stopping.signal);
    let first = true;
    await serveWatch<Build | BuildConfig>(res, {
      initial,
      fromRevision: from,
      changes: (after, signal) =>
        (builds ? this.api.buildChanges(after, signal) : this.api.buildConfigChanges(after, signal)) as AsyncIterable<
          StoreChange<Build | BuildConfig>
        >,
      matches,
      render: (v, _type: WatchEventType) => {
        if (!table) return toKube(v);
        // Like the apiserver: column definitions with the first event only.
        const out = toTable(t.resource, [toKube(v)], {
          includeObject: includeObject(q),
          now: this.clock(),
          headers: first,
        });
        first = false;
        return out;
      },
      bookmark: (resourceVersion) => ({
        kind: t.resource.kind,
        apiVersion: API_VERSION,
        metadata: { resourceVersion },
      }),
      bookmarkIntervalMs: q.get('allowWatchBookmarks') === 'true' ? (this.o.bookmarkIntervalMs ?? 60_000) : 0,
      timeoutMs: timeoutSeconds > 0 ? Math.min(timeoutSeconds * 1000, maxMs) : maxMs,
      signal: stop.signal,
    });
  }
}

function json(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

function notAllowed(method: string, what: string): KubeHttpError {
  return new KubeHttpError(
    405,
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource (${method} ${what})`,
  );
}

/** A list's `limit`: 0 (everything) when absent or not positive. */
function parseLimit(value: string | null): number {
  if (value === null || value === '') return 0;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new KubeHttpError(400, 'BadRequest', `limit "${value}" is not a whole number`);
  return Math.max(0, n);
}

function objectKey(o: Build | BuildConfig): string {
  return `${o.metadata.namespace}.${o.metadata.name}`;
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

/** JSON or YAML body; an empty body is undefined when `optional`, else a 400. */
async function readBody(req: http.IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES)
      throw new KubeHttpError(413, 'RequestEntityTooLarge', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) {
    if (optional) return undefined;
    throw new KubeHttpError(400, 'BadRequest', 'the request has no body');
  }
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
  try {
    return type.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new KubeHttpError(
      400,
      'BadRequest',
      `the body is not valid ${type.includes('yaml') ? 'YAML' : 'JSON'}: ${errorMessage(err)}`,
    );
  }
}

/** A merge patch body; any other patch type is 415 (server-side apply, strategic merge, JSON patch are not served). */
async function readMergePatch(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (type !== 'application/merge-patch+json') {
    throw new KubeHttpError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (got "${type}")`,
    );
  }
  const patch = await readBody(req);
  if (!isRecord(patch)) throw new KubeHttpError(400, 'BadRequest', 'a merge patch must be a JSON object');
  return patch;
}

/** DeleteOptions' `preconditions.resourceVersion` (body), as the expected revision. */
function deletePrecondition(body: unknown): number | undefined {
  const rv = isRecord(body) && isRecord(body.preconditions) ? body.preconditions.resourceVersion : undefined;
  if (rv === undefined || rv === null || rv === '') return undefined;
  const n = Number(rv);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InvalidInputError([
      { field: 'preconditions.resourceVersion', message: `"${String(rv)}" is not a resource version` },
    ]);
  return n;
}
