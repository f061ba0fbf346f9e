import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { objectKey } from '../../common/nats/names.js';
import type { AgentRecord, AgentRegistry } from '../agents/agent-registry.js';
import { isTerminal, type Build, type Versioned } from '../../api/types.js';
import type { BuildApi } from '../builds/build-api.js';
import { abortOnClose, sendJson, type HttpServer } from '../http/http-server.js';
import type { BuildLogs } from '../logs/build-logs.js';
import type { DashboardAuth } from './api-auth.js';
import { sendApiError, setSecurityHeaders, startNdjson, toApiError } from './answers.js';

export interface DashboardApiDeps {
  builds: BuildApi;
  logs: BuildLogs;
  agents: AgentRegistry;
  auth: DashboardAuth;
  log: Logger;
  /** Aborts every stream (the coordinator is stopping). */
  stopping: AbortSignal;
  clock: () => Date;
  /** An agent silent for longer than this is shown as silent (the coordinator's lease grace). */
  agentGraceMs: number;
  /** Of the NDJSON pings; tests shorten it. */
  pingIntervalMs?: number;
}

/** A build as the API sends it: the stored object and its revision. */
export interface BuildItem {
  revision: number;
  build: Build;
}

/**
 * The dashboard's read-only API, under /api/v1/ (every answer JSON, streams newline-delimited
 * JSON; see ARCHITECTURE.md for the lines). Reads go through BuildApi, BuildLogs and the
 * AgentRegistry, never the store, and each call is checked by DashboardAuth before anything is
 * read.
 *
 *   GET /api/v1/namespaces/NS/builds                 {serverTime, revision, items}
 *   GET /api/v1/namespaces/NS/builds?watch=true      SNAPSHOT, then ADDED|MODIFIED|DELETED from its revision
 *   GET /api/v1/namespaces/NS/builds/NAME            {serverTime, revision, build}
 *   GET /api/v1/namespaces/NS/builds/NAME?watch=true BUILD, then one a change until it has ended; END
 *   GET /api/v1/namespaces/NS/builds/NAME/log[?follow=true&fromLine=N&attempt=A]  LINE…, END
 *   GET /api/v1/agents                               {serverTime, items}
 */
export function registerDashboardApi(http: HttpServer, d: DashboardApiDeps): void {
  const api = new DashboardApi(d);
  const route = (
    pattern: string,
    handler: (req: IncomingMessage, res: ServerResponse, p: Record<string, string>) => Promise<void>,
  ) =>
    http.route('GET', pattern, async (req, res, p) => {
      setSecurityHeaders(res);
      try {
        await handler(req, res, p);
      } catch (err) {
        if (res.headersSent) res.end();
        else sendApiError(res, err, d.log);
      }
    });
  route('/api/v1/namespaces/:namespace/builds', (req, res, p) => api.builds(req, res, p.namespace!));
  route('/api/v1/namespaces/:namespace/builds/:name', (req, res, p) => api.build(req, res, p.namespace!, p.name!));
  route('/api/v1/namespaces/:namespace/builds/:name/log', (req, res, p) =>
    api.buildLog(req, res, p.namespace!, p.name!),
  );
  route('/api/v1/agents', (req, res) => api.agentList(req, res));
}

class DashboardApi {
  constructor(private readonly d: DashboardApiDeps) {}

  async builds(req: IncomingMessage, res: ServerResponse, namespace: string): Promise<void> {
    const q = query(req);
    const watch = flag(q, 'watch');
    this.d.auth.check(req, { verb: watch ? 'watch' : 'list', resource: 'builds', namespace });
    const snapshot = await this.d.builds.snapshotBuilds(namespace);
    const items = snapshot.items.map(item);
    if (!watch) return sendJson(res, 200, { serverTime: this.now(), revision: snapshot.revision, items });

    // Changes from the snapshot's own revision: nothing written between the listing and the
    // watch is missed, nothing is sent twice.
    const stop = abortOnClose(res, this.d.stopping);
    const out = startNdjson(res, this.d.pingIntervalMs);
    out.write({ type: 'SNAPSHOT', serverTime: this.now(), revision: snapshot.revision, items });
    const prefix = `${namespace}.`;
    try {
      for await (const c of this.d.builds.buildChanges(snapshot.revision, stop.signal)) {
        if (!c.key.startsWith(prefix)) continue;
        if (c.value === undefined)
          out.write({
            type: 'DELETED',
            revision: c.revision,
            name: c.key.slice(prefix.length),
            ...(c.deleted ? { build: c.deleted } : {}),
          });
        else out.write({ type: c.created ? 'ADDED' : 'MODIFIED', revision: c.revision, build: c.value });
      }
    } catch (err) {
      // Expired (the history after our revision is gone) or the store went away: the client lists again.
      if (!stop.signal.aborted) out.write({ type: 'ERROR', ...toApiError(err, this.d.log) });
    } finally {
      stop.abort();
      out.end();
    }
  }

  async build(req: IncomingMessage, res: ServerResponse, namespace: string, name: string): Promise<void> {
    const watch = flag(query(req), 'watch');
    this.d.auth.check(req, { verb: watch ? 'watch' : 'get', resource: 'builds', namespace });
    if (!watch) {
      const b = await this.d.builds.getBuild(namespace, name);
      return sendJson(res, 200, { serverTime: this.now(), ...item(b) });
    }
    // As the list: the build at one revision, then its changes from there (BuildApi.watchBuild
    // would do, but its key watch leaves its consumer on the server for minutes after it stops).
    const first = await this.d.builds.getBuild(namespace, name);
    const stop = abortOnClose(res, this.d.stopping);
    const out = startNdjson(res, this.d.pingIntervalMs);
    const key = objectKey(namespace, name);
    try {
      out.write({ type: 'BUILD', serverTime: this.now(), ...item(first) });
      if (isTerminal(first.value.status.phase)) return out.write({ type: 'END' });
      for await (const c of this.d.builds.buildChanges(first.revision, stop.signal)) {
        if (c.key !== key) continue;
        if (c.value === undefined) {
          out.write({ type: 'DELETED', revision: c.revision, name });
          break;
        }
        out.write({ type: 'BUILD', serverTime: this.now(), revision: c.revision, build: c.value });
        if (isTerminal(c.value.status.phase)) break;
      }
      if (!stop.signal.aborted) out.write({ type: 'END' });
    } catch (err) {
      if (!stop.signal.aborted) out.write({ type: 'ERROR', ...toApiError(err, this.d.log) });
    } finally {
      stop.abort();
      out.end();
    }
  }

  async buildLog(req: IncomingMessage, res: ServerResponse, namespace: string, name: string): Promise<void> {
    const q = query(req);
    const follow = flag(q, 'follow');
    const fromLine = count(q, 'fromLine');
    const attempt = count(q, 'attempt');
    this.d.auth.check(req, { verb: 'get', resource: 'builds', subresource: 'log', namespace });
    // Checked before the stream starts, so a missing build is a 404; a follow may wait long for
    // its first line, and the answer must not wait with it.
    await this.d.builds.getBuild(namespace, name);
    const stop = abortOnClose(res, this.d.stopping);
    const out = startNdjson(res, this.d.pingIntervalMs);
    try {
      for await (const b of this.d.logs.stream({ namespace, name, follow, fromLine, attempt }, stop.signal)) {
        out.writeAll(b.texts.map((text, i) => ({ type: 'LINE', attempt: b.attempt, line: b.first + i, text })));
      }
      out.write({ type: 'END' });
    } catch (err) {
      if (!stop.signal.aborted) out.write({ type: 'ERROR', ...toApiError(err, this.d.log) });
    } finally {
      stop.abort();
      out.end();
    }
  }

  async agentList(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // An agent's record names the builds it runs, of every namespace: only users who may read
    // builds across all namespaces see agents (not tenants limited to theirs).
    this.d.auth.check(req, { verb: 'list', resource: 'builds', namespace: undefined });
    const now = this.d.clock();
    const items = (await this.d.agents.list()).map((a) => agentItem(a, now, this.d.agentGraceMs));
    sendJson(res, 200, { serverTime: now.toISOString(), items });
  }

  private now(): string {
    return this.d.clock().toISOString();
  }
}

function item(b: Versioned<Build>): BuildItem {
  return { revision: b.revision, build: b.value };
}

/** The record, and whether it has been silent past the grace (its builds are being taken from it). */
function agentItem(a: AgentRecord, now: Date, graceMs: number): AgentRecord & { silent: boolean } {
  return { ...a, silent: now.getTime() - Date.parse(a.lastHeartbeat) > graceMs };
}

function query(req: IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://dashboard').searchParams;
}

/** A boolean query parameter: true, 1, false, 0 or empty; absent is false. */
function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new InvalidInputError([{ field: name, message: `"${v.slice(0, 40)}" is not true or false` }]);
}

/** A non-negative integer query parameter; absent is 0. */
function count(q: URLSearchParams, name: string): number {
  const v = q.get(name);
  if (v === null || v === '') return 0;
  if (!/^\d{1,9}$/.test(v))
    throw new InvalidInputError([{ field: name, message: `"${v.slice(0, 40)}" is not a non-negative integer` }]);
  return Number(v);
}
