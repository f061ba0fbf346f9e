import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pack } from 'tar-stream';
import { SlipwayClient } from '../cli/client.js';
import { runCli } from '../cli/main.js';
import { slipwayProto } from '../common/grpc/proto.js';
import { AGENT_INBOX_PREFIX } from '../common/nats/connect.js';
import { agentJobConsumer } from '../common/nats/jobs.js';
import { natsAuthorizationConfig } from '../common/nats/permissions.js';
import type { AgentServiceClient } from '../proto/generated/slipway/v1/AgentService.js';
import type { BuildConfig } from '../proto/generated/slipway/v1/BuildConfig.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort, waitForPort } from './helpers/ports.js';
import { makeTestPki } from './helpers/pki.js';
import { tempDir } from './helpers/processes.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/service-processes.js';
import { startSlipway } from './helpers/slipway.js';
import type { Teardowns } from './helpers/teardowns.js';
import { eventually } from './helpers/eventually.js';

/**
 * Issue #9's must-shows: clients need a token with the right role (and namespace), agents a
 * client certificate, and an agent's NATS user can neither read secrets nor write build state.
 * Certificates are real (openssl), servers are real; the coordinator and agent run as processes
 * configured from the environment, as deployed.
 */

const unique = () => randomBytes(4).toString('hex');

interface Pki {
  /** The coordinator's serving certificate (self-signed for 127.0.0.1): clients' and agents' CA. */
  serverCert: string;
  serverKey: string;
  /** The CA that signs agents' client certificates. */
  agentCA: string;
  /** [cert, key] of agent "agent-a", signed by agentCA. */
  agentA: [string, string];
  /** CN agent-a as well, but from another CA. */
  forged: [string, string];
  /** Signed by agentCA, for "agent-b". */
  agentB: [string, string];
}

async function makePki(t: Teardowns): Promise<Pki> {
  const pki = await makeTestPki(t, { ca: 'slipway-agents-ca', 'other-ca': 'other-ca' });
  return {
    serverCert: pki.serverCert,
    serverKey: pki.serverKey,
    agentCA: pki.caCert('ca'),
    agentA: await pki.client('agent-a', 'agent-a', 'ca', { san: true }),
    forged: await pki.client('forged', 'agent-a', 'other-ca', { san: true }),
    agentB: await pki.client('agent-b', 'agent-b', 'ca', { san: true }),
  };
}

/** Random tokens for each role, and the token file naming them. */
async function makeTokens(t: Teardowns) {
  const tokens = {
    admin: unique() + unique(),
    builder: unique() + unique(),
    viewer: unique() + unique(),
    tenantB: unique() + unique(),
  };
  const file = path.join(await tempDir(t, 'slipway-tokens-'), 'tokens.csv');
  await writeFile(
    file,
    [
      `${tokens.admin},alice,1,"slipway:admins"`,
      `${tokens.builder},bob,2,"slipway:builders"`,
      `${tokens.viewer},carol,3,"slipway:viewers"`,
      `${tokens.tenantB},dave,4,"slipway:builders,slipway:viewers,slipway:ns:tenant-b"`,
    ].join('\n') + '\n',
  );
  return { tokens, file };
}

const config = (
  name: string,
  namespace: string,
  uri: string,
  image: string,
  extra: Partial<NonNullable<BuildConfig['spec']>> = {},
): BuildConfig => ({
  metadata: { name, namespace },
  spec: { source: { git: { uri, ref: 'main' } }, strategy: { docker: {} }, output: { image }, ...extra },
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return grpc.status[(err as grpc.ServiceError).code] ?? String(err);
  }
}

async function drain<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const i of items) out.push(i);
  return out;
}

test('a client without a token, with a wrong one, or with a viewer token cannot start a build, and nothing changes', async (t) => {
  const pki = await makePki(t);
  const { tokens, file } = await makeTokens(t);
  const slipway = await startSlipway(t, {
    agents: 0,
    coordinator: { apiTokensFile: file, grpcTlsCertFile: pki.serverCert, grpcTlsKeyFile: pki.serverKey },
  });
  const ca = await readFile(pki.serverCert);
  const clientWith = (token?: string) => {
    const c = new SlipwayClient(slipway.coordinators[0]!.address, 10_000, {}, { ca, token });
    t.teardown(() => c.close());
    return c;
  };
  const [none, wrong, viewer, builder, admin, tenantB] = [
    clientWith(),
    clientWith('not-a-token'),
    clientWith(tokens.viewer),
    clientWith(tokens.builder),
    clientWith(tokens.admin),
    clientWith(tokens.tenantB),
  ];
  t.is(
    await code(builder.createBuildConfig(config('app', 'default', 'git://127.0.0.1:9/app', '127.0.0.1:9/app:v1'))),
    'PERMISSION_DENIED',
    'builders do not change configs',
  );
  await admin.createBuildConfig(config('app', 'default', 'git://127.0.0.1:9/app', '127.0.0.1:9/app:v1'));

  const start = { namespace: 'default', configName: 'app' };
  t.is(await code(none.startBuild(start)), 'UNAUTHENTICATED');
  t.is(await code(wrong.startBuild(start)), 'UNAUTHENTICATED');
  t.is(await code(viewer.startBuild(start)), 'PERMISSION_DENIED');
  t.is(await code(tenantB.startBuild(start)), 'PERMISSION_DENIED', 'a builder of tenant-b in namespace default');
  t.is(await code(none.startBuildWithContext(start, [Buffer.from('not even a tar')])), 'UNAUTHENTICATED');
  t.is(await code(viewer.startBuildWithContext(start, [Buffer.from('not even a tar')])), 'PERMISSION_DENIED');
  t.is(await code(viewer.cancelBuild('default', 'app-1')), 'PERMISSION_DENIED');
  t.is(
    await code(
      builder.createSecret({
        metadata: { name: 'reg', namespace: 'default' },
        type: 'docker-registry',
        registry: 'r',
        username: 'u',
        password: 'p',
      }),
    ),
    'PERMISSION_DENIED',
  );
  t.is(await code(none.listBuilds({ namespace: 'default' })), 'UNAUTHENTICATED');
  t.is(await code(drain(none.watchBuild('default', 'app-1'))), 'UNAUTHENTICATED', 'streams too');
  t.is(await code(drain(none.streamBuildLogs({ namespace: 'default', name: 'app-1' }))), 'UNAUTHENTICATED');
  t.is(await code(tenantB.listBuilds({ namespace: 'default' })), 'PERMISSION_DENIED', 'another tenant reads nothing');

  // Nothing changed: no version taken, no build, no upload kept.
  t.is((await viewer.getBuildConfig('default', 'app')).status!.lastVersion, 0);
  t.deepEqual(await viewer.listBuilds({ namespace: 'default' }), []);

  const started = await builder.startBuild(start);
  t.is(started.metadata!.name, 'app-1');
  t.is((await viewer.getBuildConfig('default', 'app')).status!.lastVersion, 1);
  t.deepEqual(
    (await viewer.listBuilds({ namespace: 'default' })).map((b) => b.metadata!.name),
    ['app-1'],
  );
  t.is((await viewer.getBuild('default', 'app-1')).metadata!.name, 'app-1');
  // Tenant b works in its own namespace.
  t.deepEqual(await tenantB.listBuilds({ namespace: 'tenant-b' }), []);
  t.is(
    await code(tenantB.startBuild({ namespace: 'tenant-b', configName: 'app' })),
    'NOT_FOUND',
    'allowed, and there is no such config',
  );
  // The CLI: --ca and the token from the environment; without the token it says why.
  const cli = async (argv: string[], env: Record<string, string>) => {
    let out = '';
    let err = '';
    const status = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s), env });
    return { status, out, err };
  };
  const address = slipway.coordinators[0]!.address;
  const listed = await cli(['--server', address, '--ca', pki.serverCert, 'get', 'builds'], {
    SLIPWAY_TOKEN: tokens.viewer,
  });
  t.is(listed.status, 0, listed.err);
  t.regex(listed.out, /app-1/);
  const refusedCli = await cli(['get', 'builds'], { SLIPWAY_ADDR: address, SLIPWAY_CA: pki.serverCert });
  t.not(refusedCli.status, 0);
  t.regex(refusedCli.err, /bearer token is required/);
  const startedByViewer = await cli(['--server', address, '--ca', pki.serverCert, 'start', 'app'], {
    SLIPWAY_TOKEN: tokens.viewer,
  });
  t.not(startedByViewer.status, 0);
  t.regex(startedByViewer.err, /may not create buildconfigs\/instantiate/);
  t.false(startedByViewer.err.includes(tokens.viewer));
  // And without TLS nobody gets in at all.
  const plain = new SlipwayClient(slipway.coordinators[0]!.address, 5000, {}, { token: tokens.admin });
  t.teardown(() => plain.close());
  t.is(await code(plain.listBuilds({ namespace: 'default' })), 'UNAVAILABLE');
});

/** Raw AgentService calls with the given client certificate (or none). */
function agentClient(t: Teardowns, address: string, ca: Buffer, cert?: [Buffer, Buffer]): AgentServiceClient {
  const c = new (slipwayProto().slipway.v1.AgentService)(
    address,
    grpc.credentials.createSsl(ca, cert?.[1] ?? null, cert?.[0] ?? null),
  );
  t.teardown(() => c.close());
  return c;
}

function heartbeat(c: AgentServiceClient, agent: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    c.Heartbeat(
      { agent, node: 'n', instance: 'r1', running: [] },
      { deadline: new Date(Date.now() + 5000) },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

/** Every permission violation the server reported to `nc`, as "operation subject". */
function violations(nc: NatsConnection): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error.name === 'PermissionViolationError') {
        const e = s.error as Error & { operation: string; subject: string };
        seen.push(`${e.operation} ${e.subject}`);
      }
    }
  })();
  return seen;
}

async function tarball(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  for (const [name, content] of Object.entries(files)) p.entry({ name }, content);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('agents need a client certificate naming them; with one, builds run end to end over TLS and NATS with credentials, whose agent user reads no secrets and writes no build state', async (t) => {
  const env = testEnvironment();
  const pki = await makePki(t);
  const { tokens, file } = await makeTokens(t);
  const git = await startGitServer(t);
  const users = {
    coordinator: { user: 'slipway-coordinator', password: `c-${unique()}${unique()}` },
    agent: { user: 'slipway-agent', password: `a-${unique()}${unique()}` },
  };
  const nats = await startNatsServer(t, { config: natsAuthorizationConfig(users) });
  const [port, agentPort] = [await freePort(), await freePort()];
  const coordinator = await startCoordinatorProcess(t, {
    natsUrl: nats.url,
    port,
    env: {
      SLIPWAY_API_TOKENS_FILE: file,
      SLIPWAY_GRPC_TLS_CERT: pki.serverCert,
      SLIPWAY_GRPC_TLS_KEY: pki.serverKey,
      SLIPWAY_GRPC_CLIENT_CA: pki.agentCA,
      SLIPWAY_AGENT_GRPC_LISTEN: `127.0.0.1:${agentPort}`,
      SLIPWAY_NATS_USER: users.coordinator.user,
      SLIPWAY_NATS_PASSWORD: users.coordinator.password,
      SLIPWAY_LOG_LEVEL: 'debug',
    },
  });
  await waitForPort(agentPort);
  const agentAddress = `127.0.0.1:${agentPort}`;
  const ca = await readFile(pki.serverCert);
  const files = async (pair: [string, string]) =>
    [await readFile(pair[0]), await readFile(pair[1])] as [Buffer, Buffer];

  // Must-show 2: no certificate, or one from another CA: the handshake fails, the call never arrives.
  t.is(await code(heartbeat(agentClient(t, agentAddress, ca), 'agent-a')), 'UNAVAILABLE', 'no client certificate');
  t.is(
    await code(heartbeat(agentClient(t, agentAddress, ca, await files(pki.forged)), 'agent-a')),
    'UNAVAILABLE',
    'a certificate from another CA',
  );
  const plain = new (slipwayProto().slipway.v1.AgentService)(agentAddress, grpc.credentials.createInsecure());
  t.teardown(() => plain.close());
  t.is(await code(heartbeat(plain, 'agent-a')), 'UNAVAILABLE', 'no TLS');
  // Agent b's (valid) certificate does not let it speak as agent a.
  const asB = agentClient(t, agentAddress, ca, await files(pki.agentB));
  t.is(await code(heartbeat(asB, 'agent-a')), 'PERMISSION_DENIED', 'another agent’s name');
  t.is(await code(heartbeat(asB, 'agent-b')), 'OK', 'its own name');
  // AgentService is not on the clients' port at all.
  t.is(
    await code(heartbeat(agentClient(t, `127.0.0.1:${port}`, ca, await files(pki.agentA)), 'agent-a')),
    'UNIMPLEMENTED',
  );

  const agent = await startAgentProcess(t, {
    natsUrl: nats.url,
    coordinator: agentAddress,
    name: 'agent-a',
    workDir: await tempDir(t, 'slipway-agent-'),
    env: {
      SLIPWAY_AGENT_TLS_CA: pki.serverCert,
      SLIPWAY_AGENT_TLS_CERT: pki.agentA[0],
      SLIPWAY_AGENT_TLS_KEY: pki.agentA[1],
      SLIPWAY_NATS_USER: users.agent.user,
      SLIPWAY_NATS_PASSWORD: users.agent.password,
      SLIPWAY_LOG_LEVEL: 'debug',
    },
  });

  const admin = new SlipwayClient(`127.0.0.1:${port}`, 20_000, {}, { ca, token: tokens.admin });
  const builder = new SlipwayClient(`127.0.0.1:${port}`, 20_000, {}, { ca, token: tokens.builder });
  t.teardown(() => [admin, builder].forEach((c) => c.close()));
  const word = `secure-${unique()}`;
  const repo = await git.createRepo('app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${word} > /greeting\n` });
  // A secret only tenant b has: builds elsewhere must not get it even when they name it.
  const secretPassword = `s-${unique()}${unique()}`;
  await admin.createSecret({
    metadata: { name: 'reg', namespace: 'tenant-b' },
    type: 'docker-registry',
    registry: env.registry,
    username: 'u',
    password: secretPassword,
  });
  await admin.createBuildConfig(config('app', 'default', repo.uri, `${env.registry}/test/secure-${unique()}:v1`));
  await admin.createBuildConfig({
    ...config('upload', 'default', '', `${env.registry}/test/secure-upload-${unique()}:v1`),
    spec: {
      source: { binary: {} },
      strategy: { docker: {} },
      output: { image: `${env.registry}/test/secure-upload-${unique()}:v1` },
    },
  });
  // Placement waits for a missing push secret (MissingPushSecret) up to pendingDeadlineSeconds, then fails the build with that reason.
  await admin.createBuildConfig(
    config('borrow', 'default', repo.uri, `${env.registry}/test/secure-borrow-${unique()}:v1`, {
      output: { image: `${env.registry}/test/secure-borrow-${unique()}:v1`, pushSecret: { name: 'reg' } },
      pendingDeadlineSeconds: 2,
    }),
  );

  // A real build from git, and one from an upload (the agent reads the object store), through TLS.
  await builder.startBuild({ namespace: 'default', configName: 'app' });
  const fromGit = await builder.waitForBuild('default', 'app-1');
  t.is(fromGit.status!.phase, 'Complete', fromGit.status!.message);
  t.is(fromGit.status!.agent, 'agent-a');
  t.regex(fromGit.status!.output!.digest, /^sha256:[0-9a-f]{64}$/);
  await builder.startBuildWithContext({ namespace: 'default', configName: 'upload' }, [
    await tarball({ Dockerfile: `FROM ${env.baseImage}\nRUN echo ${word}\n` }),
  ]);
  const fromUpload = await builder.waitForBuild('default', 'upload-1');
  t.is(fromUpload.status!.phase, 'Complete', fromUpload.status!.message);
  // Namespace default names tenant b's secret: placement looks it up in default, where there is
  // none, so the build is never placed nor claimed, and fails at its pending deadline.
  await builder.startBuild({ namespace: 'default', configName: 'borrow' });
  const borrowed = await builder.waitForBuild('default', 'borrow-1');
  t.is(borrowed.status!.phase, 'Failed');
  t.is(borrowed.status!.reason, 'MissingPushSecret', borrowed.status!.message);
  t.regex(borrowed.status!.message, /push secret "reg" does not exist in namespace default/);
  const reasons = borrowed.status!.events.map((e) => e.reason);
  t.false(
    reasons.includes('Placed') || reasons.includes('Scheduled'),
    `never placed on or claimed by an agent: ${reasons.join(', ')}`,
  );
  t.is(borrowed.status!.agent, '');

  // Must-show 3: the agent's NATS user.
  const nc = await connect({
    servers: nats.url,
    user: users.agent.user,
    pass: users.agent.password,
    inboxPrefix: AGENT_INBOX_PREFIX,
  });
  t.teardown(() => nc.close());
  const seen = violations(nc);
  const refused = (what: string, expected: string) =>
    eventually(`${what}: "${expected}"`, () => seen.includes(expected), {
      timeoutMs: 5000,
      intervalMs: 50,
      detail: () => seen,
    });

  const watch = nc.subscribe('$KV.slipway_secrets.>');
  await refused('watching the secrets bucket', 'subscription $KV.slipway_secrets.>');
  t.true(watch.isClosed(), 'the subscription was closed by the violation');
  const directGet = '$JS.API.DIRECT.GET.KV_slipway_secrets.$KV.slipway_secrets.tenant-b.reg';
  await nc.request(directGet, undefined, { timeout: 2000 }).catch(() => {});
  await refused('a direct get of tenant b’s secret', `publish ${directGet}`);
  const msgGet = '$JS.API.STREAM.MSG.GET.KV_slipway_secrets';
  await nc
    .request(msgGet, JSON.stringify({ last_by_subj: '$KV.slipway_secrets.tenant-b.reg' }), { timeout: 2000 })
    .catch(() => {});
  await refused('a stream get of tenant b’s secret', `publish ${msgGet}`);
  nc.subscribe('_INBOX.>');
  await refused('listening to the coordinators’ replies', 'subscription _INBOX.>');

  const js = jetstream(nc);
  const forged = JSON.stringify({ metadata: { name: 'app-1', namespace: 'default' }, status: { phase: 'Complete' } });
  await js.publish('$KV.slipway_builds.default.app-2', forged, { timeout: 2000 }).catch(() => {});
  await refused('writing build state', 'publish $KV.slipway_builds.default.app-2');
  await js
    .publish(
      'slipway.jobs.agent-a.default.app-1',
      JSON.stringify({ namespace: 'default', build: 'app-1', attempt: 9, placement: 1 }),
      { timeout: 2000 },
    )
    .catch(() => {});
  await refused('queueing a job', 'publish slipway.jobs.agent-a.default.app-1');
  await nc
    .request(
      '$JS.API.CONSUMER.CREATE.SLIPWAY_JOBS',
      JSON.stringify({ stream_name: 'SLIPWAY_JOBS', config: { filter_subject: 'slipway.jobs.>' } }),
      { timeout: 2000 },
    )
    .catch(() => {});
  await refused("making a consumer of every agent's jobs", 'publish $JS.API.CONSUMER.CREATE.SLIPWAY_JOBS');
  t.is(await code(admin.getBuild('default', 'app-2')), 'NOT_FOUND', 'no build state was written');

  // What it is for still works: binding to its job consumer (a coordinator made it) and pulling (nothing is queued now).
  const consumer = await agentJobConsumer(nc, 'agent-a');
  t.is(await consumer.next({ expires: 1000 }), null);
  const before = seen.length;
  // Time passing is what is tested here: 300 ms on, still no new violation.
  await new Promise((r) => setTimeout(r, 300));
  t.is(seen.length, before, `pulling raised no violation: ${JSON.stringify(seen.slice(before))}`);

  // Nothing secret appears in either process's output.
  const output = JSON.stringify([...coordinator.logs(), ...agent.logs()]);
  t.true(
    coordinator.logs().some((l) => l.msg === 'coordinator started') &&
      agent.logs().some((l) => l.msg === 'agent started'),
  );
  t.false(output.includes('Permissions Violation'), 'the coordinator and agent never hit their permissions');
  for (const [name, secret] of Object.entries({
    ...tokens,
    coordinatorPassword: users.coordinator.password,
    agentPassword: users.agent.password,
    secretPassword,
  })) {
    t.false(output.includes(secret), `${name} appears in the processes' output`);
  }
});
