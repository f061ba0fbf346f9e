import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import { tempDir } from './processes.js';

/**
 * A FAKE Kubernetes API server: no real apiserver (nor etcd) can run in this environment, so the
 * node-awareness tests talk to this instead. It serves only what the agent's NodeWatcher asks of
 * @kubernetes/client-node, for Nodes, with the real API's wire format:
 *
 * - `GET /api/v1/nodes/NAME`
 * - `GET /api/v1/nodes?fieldSelector=metadata.name=NAME` (a NodeList with its resourceVersion)
 * - `GET /api/v1/nodes?watch=true&fieldSelector=…&resourceVersion=N[&timeoutSeconds=S]`:
 *   newline-delimited JSON events ADDED/MODIFIED/DELETED (and BOOKMARK on `bookmark()`), replayed
 *   from N; an N older than the last `compact()` gets an ERROR event with a 410 Status, as an
 *   apiserver answers a watch whose resourceVersion etcd compacted away.
 *
 * It also answers what the coordinator's delegated authorization asks:
 *
 * - `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`: the review is recorded in
 *   `reviews` and answered by `reviewPolicy` (a test sets it; by default everything is denied,
 *   as a cluster with no RBAC rule for the group would), as RBAC would answer it.
 *
 * Every request must carry the kubeconfig's bearer token (401 otherwise). The test changes nodes
 * as kubectl would (cordon, uncordon, label) and can cut every open watch.
 */
export class FakeKubernetesApi {
  private readonly nodes = new Map<string, FakeNode>();
  private readonly history: { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; node: FakeNode }[] = [];
  private rv = 100;
  /** Watches from a resourceVersion below this get 410 Gone. */
  private compactedBefore = 0;
  private readonly watchers = new Set<Watcher>();
  /** `METHOD path?query` of every request, in order. */
  readonly requests: string[] = [];
  /** The spec of every SubjectAccessReview received, in order. */
  readonly reviews: FakeReviewSpec[] = [];
  /** Decides each SubjectAccessReview; `true` allows, a string denies with that reason. */
  reviewPolicy: (spec: FakeReviewSpec) => true | string = () => 'no RBAC policy matched';

  private constructor(
    private readonly server: http.Server,
    readonly token: string,
    /** A kubeconfig file whose current context is this server, with its token. */
    readonly kubeconfigPath: string,
  ) {}

  static async start(t: Teardowns): Promise<FakeKubernetesApi> {
    const token = randomBytes(16).toString('hex');
    const dir = await tempDir(t, 'slipway-fake-kube-');
    let api!: FakeKubernetesApi;
    const server = http.createServer((req, res) => api.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // client-node 1.x only speaks plain http to a server marked so; the fake has no TLS.
        clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
        'current-context': 'fake',
      }),
    );
    api = new FakeKubernetesApi(server, token, kubeconfigPath);
    t.teardown(() => api.close());
    return api;
  }

  /** Adds a schedulable node. */
  addNode(name: string, labels: Record<string, string> = {}): void {
    const node: FakeNode = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        uid: randomBytes(8).toString('hex'),
        labels: { 'kubernetes.io/hostname': name, ...labels },
        resourceVersion: '',
      },
      spec: {},
    };
    this.commit('ADDED', node);
  }

  /** `kubectl cordon`. */
  cordon(name: string): void {
    this.change(name, (n) => ({ ...n, spec: { ...n.spec, unschedulable: true } }));
  }

  /** `kubectl uncordon`. */
  uncordon(name: string): void {
    this.change(name, (n) => ({ ...n, spec: { ...n.spec, unschedulable: undefined } }));
  }

  /** `kubectl label node NAME k=v` for each entry; an undefined value removes the label (`k-`). */
  label(name: string, labels: Record<string, string | undefined>): void {
    this.change(name, (n) => {
      const next = { ...n.metadata.labels };
      for (const [k, v] of Object.entries(labels)) {
        if (v === undefined) delete next[k];
        else next[k] = v;
      }
      return { ...n, metadata: { ...n.metadata, labels: next } };
    });
  }

  deleteNode(name: string): void {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`fake API: no node ${name}`);
    this.commit('DELETED', node);
  }

  /** Forgets the history so far: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedBefore = this.rv + 1;
    this.history.length = 0;
  }

  /** Sends a BOOKMARK at the current resourceVersion to watches that asked for them. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (w.bookmarks)
        w.send({
          type: 'BOOKMARK',
          object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } },
        });
    }
  }

  /** Ends every open watch response, as an apiserver restart or a load balancer would. */
  closeWatches(): void {
    for (const w of [...this.watchers]) w.end();
  }

  /** Watches open now. */
  get openWatches(): number {
    return this.watchers.size;
  }

  async close(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private change(name: string, edit: (n: FakeNode) => FakeNode): void {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`fake API: no node ${name}`);
    this.commit('MODIFIED', edit(node));
  }

  private commit(type: 'ADDED' | 'MODIFIED' | 'DELETED', node: FakeNode): void {
    this.rv += 1;
    const stored: FakeNode = structuredClone({
      ...node,
      metadata: { ...node.metadata, resourceVersion: String(this.rv) },
    });
    if (type === 'DELETED') this.nodes.delete(node.metadata.name);
    else this.nodes.set(node.metadata.name, stored);
    this.history.push({ rv: this.rv, type, node: stored });
    for (const w of this.watchers) if (w.matches(stored)) w.send({ type, object: stored });
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return status(res, 401, 'Unauthorized', 'no or wrong bearer token');
    if (req.method === 'POST' && url.pathname === '/apis/authorization.k8s.io/v1/subjectaccessreviews')
      return void this.review(req, res);
    if (req.method !== 'GET') return status(res, 405, 'MethodNotAllowed', `${req.method} is not served by the fake`);
    const one = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const node = this.nodes.get(decodeURIComponent(one[1]!));
      return node ? json(res, 200, node) : status(res, 404, 'NotFound', `nodes "${one[1]}" not found`);
    }
    if (url.pathname !== '/api/v1/nodes') return status(res, 404, 'NotFound', `the fake serves no ${url.pathname}`);
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const byName = /^metadata\.name=(.+)$/.exec(selector)?.[1];
    if (selector && !byName)
      return status(
        res,
        400,
        'BadRequest',
        `the fake only understands fieldSelector metadata.name=…, got "${selector}"`,
      );
    const matches = (n: FakeNode) => !byName || n.metadata.name === byName;
    if (url.searchParams.get('watch') !== 'true') {
      return json(res, 200, {
        apiVersion: 'v1',
        kind: 'NodeList',
        metadata: { resourceVersion: String(this.rv) },
        items: [...this.nodes.values()].filter(matches),
      });
    }
    this.watch(req, res, url, matches);
  }

  private async review(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    let body: { apiVersion?: string; kind?: string; spec?: FakeReviewSpec };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return status(res, 400, 'BadRequest', 'the body is not JSON');
    }
    if (body.kind !== 'SubjectAccessReview' || body.apiVersion !== 'authorization.k8s.io/v1' || !body.spec) {
      return status(
        res,
        400,
        'BadRequest',
        `not an authorization.k8s.io/v1 SubjectAccessReview: ${body.apiVersion}/${body.kind}`,
      );
    }
    const spec = body.spec;
    if (!spec.user && !spec.groups?.length)
      return status(res, 422, 'Invalid', 'spec.user or spec.groups: at least one is required');
    if (!spec.resourceAttributes === !spec.nonResourceAttributes)
      return status(
        res,
        422,
        'Invalid',
        'exactly one of nonResourceAttributes and resourceAttributes must be specified',
      );
    this.reviews.push(structuredClone(spec));
    const decision = this.reviewPolicy(spec);
    json(res, 201, {
      ...body,
      metadata: { creationTimestamp: null },
      status:
        decision === true
          ? { allowed: true, reason: 'allowed by the fake policy' }
          : { allowed: false, reason: decision },
    });
  }

  private watch(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    matches: (n: FakeNode) => boolean,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = url.searchParams.get('resourceVersion') ?? '';
    const w: Watcher = {
      bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
      matches,
      send: (event) => res.write(JSON.stringify(event) + '\n'),
      end: () => {
        this.watchers.delete(w);
        clearTimeout(timer);
        res.end();
      },
    };
    const seconds = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timer = seconds > 0 ? setTimeout(() => w.end(), seconds * 1000) : undefined;
    req.on('close', () => w.end());
    if (from === '' || from === '0') {
      // "Any" version: the current state as ADDED events, then changes.
      for (const n of this.nodes.values()) if (matches(n)) w.send({ type: 'ADDED', object: n });
    } else if (Number(from) < this.compactedBefore) {
      w.send({
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${from} (${this.compactedBefore})`,
          reason: 'Expired',
          code: 410,
        },
      });
      w.end();
      return;
    } else {
      for (const e of this.history)
        if (e.rv > Number(from) && matches(e.node)) w.send({ type: e.type, object: e.node });
    }
    this.watchers.add(w);
  }
}

interface FakeNode {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: { name: string; uid: string; labels: Record<string, string>; resourceVersion: string };
  spec: { unschedulable?: boolean };
}

/** A SubjectAccessReview's spec as the apiserver receives it. */
export interface FakeReviewSpec {
  user?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  resourceAttributes?: {
    group?: string;
    version?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
    verb?: string;
  };
  nonResourceAttributes?: { path?: string; verb?: string };
}

interface Watcher {
  bookmarks: boolean;
  matches(n: FakeNode): boolean;
  send(event: object): void;
  end(): void;
}

function json(res: http.ServerResponse, code: number, body: object): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
