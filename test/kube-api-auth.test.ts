import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { SlipwayClient } from '../cli/client.js';
import { FakeKubernetesApi } from './helpers/fake-kube-api.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort } from './helpers/ports.js';
import { makeTestPki } from './helpers/pki.js';
import { startCoordinatorProcess, type ServiceProcess } from './helpers/service-processes.js';
import type { Teardowns } from './helpers/teardowns.js';

/**
 * Who may use the Kubernetes API: a coordinator process as deployed (settings from the
 * environment), with bearer tokens outside a cluster and, inside one, front-proxy client
 * certificates and SubjectAccessReviews (against the fake Kubernetes API: no real apiserver runs
 * here). Certificates are real, made by openssl.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KUBECTL = '/usr/bin/kubectl';
const GROUP_PATH = '/apis/build.slipway.dev/v1';
const BCS = `${GROUP_PATH}/namespaces/default/buildconfigs`;

interface Pki {
  dir: string;
  /** The serving certificate (self-signed, for 127.0.0.1) and its key. */
  serverCert: string;
  serverKey: string;
  /** The requestheader client CA, and client certificates: [cert, key] paths. */
  proxyCA: string;
  proxy: [string, string];
  /** Signed by the requestheader CA, with a common name that is not allowed. */
  intruder: [string, string];
  /** CN front-proxy-client, but from another CA. */
  forged: [string, string];
}

async function makePki(t: Teardowns): Promise<Pki> {
  const pki = await makeTestPki(t, { ca: 'front-proxy-ca', 'other-ca': 'other-ca' });
  return {
    dir: pki.dir,
    serverCert: pki.serverCert,
    serverKey: pki.serverKey,
    proxyCA: pki.caCert('ca'),
    proxy: await pki.client('proxy', 'front-proxy-client', 'ca'),
    intruder: await pki.client('intruder', 'intruder', 'ca'),
    forged: await pki.client('forged', 'front-proxy-client', 'other-ca'),
  };
}

interface Call {
  method?: string;
  token?: string;
  /** A client certificate and key (paths). */
  cert?: [string, string];
  headers?: Record<string, string | string[]>;
  body?: unknown;
}

/** One HTTPS request to the coordinator's Kubernetes API, trusting its serving certificate. */
async function call(pki: Pki, address: string, urlPath: string, c: Call = {}): Promise<{ status: number; body: any }> {
  const ca = await readFile(pki.serverCert);
  const [cert, key] = c.cert ? await Promise.all(c.cert.map((f) => readFile(f))) : [];
  const body = c.body === undefined ? undefined : JSON.stringify(c.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `https://${address}${urlPath}`,
      {
        method: c.method ?? 'GET',
        ca,
        cert,
        key,
        // A new connection each time: what a connection proved is not carried to the next call.
        agent: false,
        headers: {
          ...c.headers,
          ...(c.token ? { Authorization: `Bearer ${c.token}` } : {}),
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: res.headers['content-type']?.startsWith('application/json') ? JSON.parse(text) : text,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const buildConfig = (name: string) => ({
  apiVersion: 'build.slipway.dev/v1',
  kind: 'BuildConfig',
  metadata: { name, namespace: 'default' },
  spec: {
    source: { git: { uri: 'git://127.0.0.1:9/app', ref: 'main' } },
    strategy: { docker: {} },
    output: { image: '127.0.0.1:5000/team/app:v1' },
  },
});

/** `grpcToken`: with a token file, gRPC calls need a token of it too (the client checks state with it). */
async function startCoordinator(
  t: Teardowns,
  env: Record<string, string>,
  grpcToken?: string,
): Promise<{ svc: ServiceProcess; address: string; client: SlipwayClient }> {
  const nats = await startNatsServer(t);
  const port = await freePort();
  const kubePort = await freePort();
  const svc = await startCoordinatorProcess(t, {
    natsUrl: nats.url,
    port,
    env: { SLIPWAY_KUBE_API_LISTEN: `127.0.0.1:${kubePort}`, SLIPWAY_LOG_LEVEL: 'debug', ...env },
  });
  await svc.waitForLog((l) => l.msg === 'coordinator started');
  const client = new SlipwayClient(`127.0.0.1:${port}`, undefined, {}, { token: grpcToken });
  t.teardown(() => client.close());
  return { svc, address: `127.0.0.1:${kubePort}`, client };
}

test.serial(
  'tokens: 401 without a valid token; viewers read, builders start builds, admins apply configs; tokens never printed',
  async (t) => {
    const pki = await makePki(t);
    const tokens = {
      viewer: randomBytes(16).toString('hex'),
      builder: randomBytes(16).toString('hex'),
      admin: randomBytes(16).toString('hex'),
    };
    const wrong = randomBytes(16).toString('hex');
    const tokenFile = path.join(pki.dir, 'tokens.csv');
    await writeFile(
      tokenFile,
      `# token,user,uid,groups\n${tokens.viewer},vera,1001,slipway:viewers\n${tokens.builder},bo,1002,"slipway:builders,team-a"\n${tokens.admin},ada,1003,"slipway:admins"\n`,
    );
    const { svc, address, client } = await startCoordinator(
      t,
      {
        SLIPWAY_KUBE_API_AUTH: 'tokens',
        SLIPWAY_API_TOKENS_FILE: tokenFile,
        SLIPWAY_KUBE_API_TLS_CERT: pki.serverCert,
        SLIPWAY_KUBE_API_TLS_KEY: pki.serverKey,
      },
      tokens.viewer,
    );

    t.like(await call(pki, address, BCS), {
      status: 401,
      body: { kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 },
    });
    const wrongAnswer = await call(pki, address, BCS, { token: wrong });
    t.like(wrongAnswer, { status: 401, body: { reason: 'Unauthorized' } });
    t.false(JSON.stringify(wrongAnswer.body).includes(wrong));
    // Health probes carry no credentials.
    t.is((await call(pki, address, '/readyz')).status, 200);

    // The admin applies a BuildConfig with the real kubectl (discovery, OpenAPI, create, patch).
    const kubeconfig = path.join(pki.dir, 'kubeconfig');
    const ca = (await readFile(pki.serverCert)).toString('base64');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'slipway', cluster: { server: `https://${address}`, 'certificate-authority-data': ca } }],
        users: [{ name: 'ada', user: { token: tokens.admin } }],
        contexts: [{ name: 'slipway', context: { cluster: 'slipway', user: 'ada', namespace: 'default' } }],
        'current-context': 'slipway',
      }),
    );
    const manifest = path.join(pki.dir, 'bc.json');
    await writeFile(manifest, JSON.stringify(buildConfig('app')));
    const applied = await kubectl(kubeconfig, pki.dir, 'apply', '-f', manifest);
    t.is(applied.code, 0, applied.out);
    t.regex(applied.out, /buildconfig\.build\.slipway\.dev\/app created/);
    t.deepEqual(
      (await client.listBuildConfigs('default')).map((c) => c.metadata?.name),
      ['app'],
    );

    // The viewer reads, and may not write: nothing changes.
    t.like(await call(pki, address, BCS, { token: tokens.viewer }), {
      status: 200,
      body: { kind: 'BuildConfigList', items: [{ metadata: { name: 'app' } }] },
    });
    t.like(await call(pki, address, `${BCS}/app`, { token: tokens.viewer }), { status: 200 });
    t.like(await call(pki, address, GROUP_PATH, { token: tokens.viewer }), {
      status: 200,
      body: { kind: 'APIResourceList' },
    });
    const created = await call(pki, address, BCS, { method: 'POST', token: tokens.viewer, body: buildConfig('other') });
    t.like(created, { status: 403, body: { kind: 'Status', reason: 'Forbidden', code: 403 } });
    t.regex(
      created.body.message,
      /User "vera" cannot create buildconfigs in API group "build.slipway.dev" in the namespace "default"/,
    );
    const started = await call(pki, address, `${BCS}/app/instantiate`, {
      method: 'POST',
      token: tokens.viewer,
      body: {},
    });
    t.like(started, { status: 403, body: { reason: 'Forbidden' } });
    t.regex(started.body.message, /User "vera" cannot create buildconfigs\/instantiate/);
    t.deepEqual(
      (await client.listBuildConfigs('default')).map((c) => c.metadata?.name),
      ['app'],
    );
    t.deepEqual(await client.listBuilds({ namespace: 'default' }), []);

    // The builder starts a build, and may not change the config.
    const build = await call(pki, address, `${BCS}/app/instantiate`, {
      method: 'POST',
      token: tokens.builder,
      body: {},
    });
    t.like(build, { status: 201, body: { kind: 'Build', metadata: { namespace: 'default' } } });
    t.is((await client.listBuilds({ namespace: 'default' })).length, 1);
    t.like(await call(pki, address, `${BCS}/app`, { method: 'DELETE', token: tokens.builder }), { status: 403 });
    t.deepEqual(
      (await client.listBuildConfigs('default')).map((c) => c.metadata?.name),
      ['app'],
    );

    const output = JSON.stringify(svc.logs());
    t.true(output.includes('kube api authentication: bearer tokens'), output);
    for (const token of [...Object.values(tokens), wrong]) t.false(output.includes(token), 'a token was printed');
  },
);

test.serial(
  "delegated: the front proxy's user goes to a SubjectAccessReview; other certificates and bare headers are 401",
  async (t) => {
    const pki = await makePki(t);
    const fake = await FakeKubernetesApi.start(t);
    const ciToken = randomBytes(16).toString('hex');
    const tokenFile = path.join(pki.dir, 'tokens.csv');
    // The state checks below go over gRPC, which needs a token (and its role) whenever there is a file.
    const readerToken = randomBytes(16).toString('hex');
    await writeFile(tokenFile, `${ciToken},ci,2001,ci-bots\n${readerToken},reader,2002,slipway:viewers\n`);
    const { address, client } = await startCoordinator(
      t,
      {
        SLIPWAY_KUBE_API_AUTH: 'delegated',
        SLIPWAY_KUBE_API_TLS_CERT: pki.serverCert,
        SLIPWAY_KUBE_API_TLS_KEY: pki.serverKey,
        SLIPWAY_KUBE_API_REQUESTHEADER_CA: pki.proxyCA,
        SLIPWAY_KUBE_API_REQUESTHEADER_ALLOWED_NAMES: 'front-proxy-client,aggregator',
        SLIPWAY_API_TOKENS_FILE: tokenFile,
        SLIPWAY_KUBECONFIG: fake.kubeconfigPath,
      },
      readerToken,
    );
    // Like an RBAC Role on the group: "builders" may read and create, nobody may delete.
    fake.reviewPolicy = (s) =>
      s.groups?.includes('builders') &&
      ['get', 'list', 'watch', 'create'].includes(s.resourceAttributes?.verb ?? s.nonResourceAttributes?.verb ?? '')
        ? true
        : 'no RBAC rule allows it';
    const alice = {
      'X-Remote-User': 'alice',
      'X-Remote-Group': ['builders', 'system:authenticated'],
      'X-Remote-Extra-Scopes': 'build',
      'X-Remote-Extra-Acme.com%2Fteam': 'a',
    };

    const created = await call(pki, address, BCS, {
      method: 'POST',
      cert: pki.proxy,
      headers: alice,
      body: buildConfig('app'),
    });
    t.is(created.status, 201, JSON.stringify(created.body));
    t.deepEqual(fake.reviews.at(-1), {
      user: 'alice',
      groups: ['builders', 'system:authenticated'],
      extra: { scopes: ['build'], 'acme.com/team': ['a'] },
      resourceAttributes: {
        group: 'build.slipway.dev',
        version: 'v1',
        resource: 'buildconfigs',
        namespace: 'default',
        verb: 'create',
      },
    });

    // Denied: 403 naming who and what, and the config is still there.
    const deleted = await call(pki, address, `${BCS}/app`, { method: 'DELETE', cert: pki.proxy, headers: alice });
    t.like(deleted, { status: 403, body: { kind: 'Status', reason: 'Forbidden', code: 403 } });
    t.regex(
      deleted.body.message,
      /User "alice" cannot delete buildconfigs in API group "build.slipway.dev" in the namespace "default"/,
    );
    t.like(fake.reviews.at(-1), {
      user: 'alice',
      resourceAttributes: { resource: 'buildconfigs', name: 'app', namespace: 'default', verb: 'delete' },
    });
    const bob = await call(pki, address, `${BCS}/app/instantiate`, {
      method: 'POST',
      cert: pki.proxy,
      headers: { 'X-Remote-User': 'bob' },
      body: {},
    });
    t.like(bob, { status: 403 });
    t.like(fake.reviews.at(-1), {
      user: 'bob',
      groups: [],
      resourceAttributes: { resource: 'buildconfigs', subresource: 'instantiate', name: 'app', verb: 'create' },
    });
    t.deepEqual(
      (await client.listBuildConfigs('default')).map((c) => c.metadata?.name),
      ['app'],
    );
    t.deepEqual(await client.listBuilds({ namespace: 'default' }), []);

    // Allowed decisions are kept for a while: a second read asks the cluster nothing.
    const asked = fake.reviews.length;
    t.like(await call(pki, address, `${BCS}/app`, { cert: pki.proxy, headers: alice }), {
      status: 200,
      body: { kind: 'BuildConfig' },
    });
    t.like(await call(pki, address, `${BCS}/app`, { cert: pki.proxy, headers: alice }), { status: 200 });
    t.is(fake.reviews.length, asked + 1);
    // Non-resource requests are reviewed as paths.
    t.like(await call(pki, address, '/apis', { cert: pki.proxy, headers: alice }), { status: 200 });
    t.deepEqual(fake.reviews.at(-1)?.nonResourceAttributes, { path: '/apis', verb: 'get' });

    // Nobody but the front proxy is believed: another CA's certificate, a CN not allowed, no certificate.
    const before = fake.reviews.length;
    for (const [what, cert] of [
      ['another CA', pki.forged],
      ['a CN not allowed', pki.intruder],
      ['no certificate', undefined],
    ] as const) {
      const r = await call(pki, address, `${BCS}/app`, {
        cert,
        headers: { 'X-Remote-User': 'alice', 'X-Remote-Group': 'system:masters' },
      });
      t.like(r, { status: 401, body: { kind: 'Status', reason: 'Unauthorized', code: 401 } }, what);
    }
    t.is(fake.reviews.length, before);

    // A token from the file still works without a certificate, and the cluster decides for it too.
    t.like(await call(pki, address, BCS, { token: ciToken, headers: { 'X-Remote-User': 'alice' } }), { status: 403 });
    t.like(fake.reviews.at(-1), {
      user: 'ci',
      uid: '2001',
      groups: ['ci-bots', 'system:authenticated'],
      resourceAttributes: { verb: 'list' },
    });
  },
);

/** Runs the coordinator process to its end; its exit code and everything it printed. */
function coordinatorExit(env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/coordinator/main.js')], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

test.serial('settings that do not fit together stop the coordinator, naming the setting', async (t) => {
  const pki = await makePki(t);
  const nats = await startNatsServer(t);
  const base = {
    SLIPWAY_NATS_URL: nats.url,
    SLIPWAY_GRPC_LISTEN: '127.0.0.1:0',
    SLIPWAY_KUBE_API_LISTEN: '127.0.0.1:0',
  };
  const secret = randomBytes(16).toString('hex');
  const badTokens = path.join(pki.dir, 'bad-tokens.csv');
  await writeFile(badTokens, `${randomBytes(16).toString('hex')},ok,1\n${secret},only-two-columns\n`);
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'an unknown mode',
      { SLIPWAY_KUBE_API_AUTH: 'open' },
      /SLIPWAY_KUBE_API_AUTH: "open" is not one of none, tokens, delegated/,
    ],
    [
      'tokens without a file',
      { SLIPWAY_KUBE_API_AUTH: 'tokens' },
      /SLIPWAY_API_TOKENS_FILE: is required when SLIPWAY_KUBE_API_AUTH is tokens/,
    ],
    [
      'a token file that is not there',
      { SLIPWAY_KUBE_API_AUTH: 'tokens', SLIPWAY_API_TOKENS_FILE: '/nonexistent/tokens.csv' },
      /SLIPWAY_API_TOKENS_FILE: no file "\/nonexistent\/tokens.csv"/,
    ],
    [
      'delegated without a CA',
      {
        SLIPWAY_KUBE_API_AUTH: 'delegated',
        SLIPWAY_KUBE_API_TLS_CERT: pki.serverCert,
        SLIPWAY_KUBE_API_TLS_KEY: pki.serverKey,
      },
      /SLIPWAY_KUBE_API_REQUESTHEADER_CA: is required/,
    ],
    [
      'delegated without TLS',
      { SLIPWAY_KUBE_API_AUTH: 'delegated', SLIPWAY_KUBE_API_REQUESTHEADER_CA: pki.proxyCA },
      /SLIPWAY_KUBE_API_TLS_CERT: is required when SLIPWAY_KUBE_API_AUTH is delegated/,
    ],
    [
      'a certificate without its key',
      { SLIPWAY_KUBE_API_TLS_CERT: pki.serverCert },
      /SLIPWAY_KUBE_API_TLS_KEY: must be set with SLIPWAY_KUBE_API_TLS_CERT/,
    ],
    [
      'a requestheader CA for tokens',
      {
        SLIPWAY_KUBE_API_AUTH: 'tokens',
        SLIPWAY_API_TOKENS_FILE: badTokens,
        SLIPWAY_KUBE_API_REQUESTHEADER_CA: pki.proxyCA,
      },
      /SLIPWAY_KUBE_API_REQUESTHEADER_CA: is only used when SLIPWAY_KUBE_API_AUTH is delegated/,
    ],
    [
      'a bad line in the token file',
      { SLIPWAY_KUBE_API_AUTH: 'tokens', SLIPWAY_API_TOKENS_FILE: badTokens },
      /SLIPWAY_API_TOKENS_FILE: line 2: want token,user,uid\[,groups\], got 2 columns/,
    ],
    [
      'delegated with no kubeconfig outside a Pod',
      {
        SLIPWAY_KUBE_API_AUTH: 'delegated',
        SLIPWAY_KUBE_API_TLS_CERT: pki.serverCert,
        SLIPWAY_KUBE_API_TLS_KEY: pki.serverKey,
        SLIPWAY_KUBE_API_REQUESTHEADER_CA: pki.proxyCA,
      },
      /SLIPWAY_KUBECONFIG: not running in a Kubernetes Pod/,
    ],
  ];
  for (const [what, env, message] of cases) {
    const { code, out } = await coordinatorExit({ ...base, ...env });
    t.is(code, 1, `${what}: ${out}`);
    t.regex(out, message, what);
    t.false(out.includes(secret), `${what}: printed a token`);
  }
});

function kubectl(kubeconfig: string, home: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, args, {
      env: { ...process.env, KUBECONFIG: kubeconfig, HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}
