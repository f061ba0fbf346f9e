import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import { run, tempDir } from './processes.js';
import { serveRegistry } from './registry.js';
import { eventually } from './eventually.js';

export interface UpstreamRegistry {
  /** 127.0.0.1:PORT */
  address: string;
  /** Everything it printed so far (its access log is on stdout, one line a request). */
  output(): string;
  /** How many times its access log shows a successful GET of `digest` (a blob it served). */
  blobGets(digest: string): number;
  /**
   * Resolves once its access log shows the requests it answered before this call: it logs a
   * request only after answering it, so this sends one of its own and waits for its line.
   */
  logCaughtUp(): Promise<void>;
  /** With auth: tokens its token server issued to the right credentials. */
  tokensIssued(): number;
}

/**
 * A real docker-registry standing in for Docker Hub, on a random loopback port, with its access
 * log kept: what it served is read from its own log, not from anything Slipway counts. With
 * `auth`, it requires bearer tokens from a token server that wants those credentials, as Docker
 * Hub does (registry 2.8's proxy authenticates only to token servers, never with basic auth).
 */
export async function startUpstreamRegistry(
  t: Teardowns,
  o: { auth?: { user: string; password: string } } = {},
): Promise<UpstreamRegistry> {
  const dir = await tempDir(t, 'slipway-upstream-');
  let auth = '';
  let tokens = { issued: () => 0 };
  if (o.auth) {
    tokens = await startTokenServer(t, dir, o.auth);
    auth = `auth:\n  token: { realm: "${(tokens as TokenServer).realm}", service: ${TOKEN_SERVICE}, issuer: ${TOKEN_ISSUER}, rootcertbundle: ${path.join(dir, 'token.crt')} }\n`;
  }
  const registry = await serveRegistry(t, dir, auth);
  return {
    address: registry.address,
    output: registry.output,
    blobGets: (digest) =>
      registry
        .output()
        .split('\n')
        .filter((l) => l.includes(`"GET /v2/`) && l.includes(`/blobs/${digest} `) && / 200 /.test(l)).length,
    tokensIssued: () => tokens.issued(),
    logCaughtUp: async () => {
      const mark = randomUUID();
      await fetch(`http://${registry.address}/v2/?caught-up=${mark}`).then((r) => r.arrayBuffer());
      await eventually(`the upstream registry to log request ${mark}`, () => registry.output().includes(mark), {
        timeoutMs: 10_000,
      });
    },
  };
}

const TOKEN_SERVICE = 'slipway-upstream';
const TOKEN_ISSUER = 'slipway-test-issuer';

interface TokenServer {
  realm: string;
  issued(): number;
}

/**
 * A Docker token server (distribution's token auth): GET /token?service&scope with basic auth
 * answers a JWT signed RS256 by a self-signed certificate the registry trusts (rootcertbundle),
 * granting what the scope asks. Wrong or missing credentials get 401.
 */
async function startTokenServer(
  t: Teardowns,
  dir: string,
  creds: { user: string; password: string },
): Promise<TokenServer> {
  const keyFile = path.join(dir, 'token.key');
  const certFile = path.join(dir, 'token.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-subj',
    '/CN=slipway-token',
    '-days',
    '1',
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const certDer = Buffer.from((await readFile(certFile, 'utf8')).replace(/-----[^-]+-----|\s/g, ''), 'base64').toString(
    'base64',
  );
  const expected = `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;
  let issued = 0;
  const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname !== '/token' || req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    issued++;
    const access = url.searchParams.getAll('scope').map((scope) => {
      const [type, ...rest] = scope.split(':');
      const actions = rest.pop()!.split(',');
      return { type, name: rest.join(':'), actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: TOKEN_ISSUER,
      sub: creds.user,
      aud: url.searchParams.get('service'),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const unsigned = `${b64url({ typ: 'JWT', alg: 'RS256', x5c: [certDer] })}.${b64url(claims)}`;
    const token = `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, issued: () => issued };
}

/** Headers for `registry`'s `scope`: none, or a bearer token got from its challenge with `creds`. */
async function authHeaders(
  registry: string,
  scope: string,
  creds?: { user: string; password: string },
): Promise<Record<string, string>> {
  if (!creds) return {};
  const challenge = (await fetch(`http://${registry}/v2/`)).headers.get('www-authenticate') ?? '';
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  if (!params.realm) return {};
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set('service', params.service);
  url.searchParams.set('scope', scope);
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}` },
  });
  if (!res.ok) throw new Error(`token from ${url.origin}: ${res.status}`);
  return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

export interface CopiedImage {
  manifestDigest: string;
  /** The config and layer digests, config first. */
  blobs: { digest: string; size: number }[];
}

/**
 * Copies `repository:tag` (a single-platform image) from one registry to another over the
 * registry API: blobs by monolithic upload, then the manifest byte for byte (same digest).
 * A request that fails without an answer (`fetch failed`: a kept-alive connection the registry
 * closed as it was reused, on a loaded machine) is a copy tried again, up to three times; every
 * step of a copy may be repeated (blobs go by digest, the manifest by tag). Such a failure is
 * thrown with its cause.
 */
export async function copyImage(
  from: string,
  to: string,
  repository: string,
  tag: string,
  toAuth?: { user: string; password: string },
): Promise<CopiedImage> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await copyImageOnce(from, to, repository, tag, toAuth);
    } catch (err) {
      if (!(err instanceof TypeError && err.message === 'fetch failed')) throw err;
      const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
      if (attempt === 3)
        throw new Error(`copying ${repository}:${tag} from ${from} to ${to}: fetch failed: ${cause}`, { cause: err });
    }
  }
}

async function copyImageOnce(
  from: string,
  to: string,
  repository: string,
  tag: string,
  toAuth?: { user: string; password: string },
): Promise<CopiedImage> {
  const headers = await authHeaders(to, `repository:${repository}:pull,push`, toAuth);
  const res = await fetch(`http://${from}/v2/${repository}/manifests/${tag}`, { headers: { accept: MANIFEST_TYPES } });
  if (!res.ok) throw new Error(`GET manifest ${repository}:${tag} from ${from}: ${res.status}`);
  const type = res.headers.get('content-type')!;
  const manifestDigest = res.headers.get('docker-content-digest')!;
  const body = Buffer.from(await res.arrayBuffer());
  const manifest = JSON.parse(body.toString()) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  const blobs = [manifest.config, ...manifest.layers].map((b) => ({ digest: b.digest, size: b.size }));
  for (const b of blobs) {
    const blob = Buffer.from(await (await fetch(`http://${from}/v2/${repository}/blobs/${b.digest}`)).arrayBuffer());
    const start = await fetch(`http://${to}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
    if (start.status !== 202) throw new Error(`starting an upload to ${to}: ${start.status}`);
    const location = new URL(start.headers.get('location')!, `http://${to}`);
    location.searchParams.set('digest', b.digest);
    const put = await fetch(location, {
      method: 'PUT',
      body: blob,
      headers: { ...headers, 'content-type': 'application/octet-stream' },
    });
    if (put.status !== 201) throw new Error(`uploading ${b.digest} to ${to}: ${put.status} ${await put.text()}`);
  }
  const put = await fetch(`http://${to}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    body,
    headers: { ...headers, 'content-type': type },
  });
  if (put.status !== 201) throw new Error(`PUT manifest to ${to}: ${put.status} ${await put.text()}`);
  return { manifestDigest, blobs };
}

/**
 * Pulls `repository:tag` through a registry (the mirror) as a daemon would: the manifest, then
 * every blob, each checked against its size. Returns the manifest's status.
 */
export async function pullThrough(
  registry: string,
  repository: string,
  tag: string,
): Promise<{ status: number; blobs: string[] }> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    headers: { accept: MANIFEST_TYPES },
  });
  if (!res.ok) return { status: res.status, blobs: [] };
  const manifest = (await res.json()) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  const blobs = [manifest.config, ...manifest.layers];
  for (const b of blobs) {
    const blob = await fetch(`http://${registry}/v2/${repository}/blobs/${b.digest}`);
    const got = (await blob.arrayBuffer()).byteLength;
    if (!blob.ok || got !== b.size)
      throw new Error(`blob ${b.digest} through ${registry}: ${blob.status}, ${got} of ${b.size} bytes`);
  }
  return { status: res.status, blobs: blobs.map((b) => b.digest) };
}
