import * as grpc from '@grpc/grpc-js';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import test from 'ava';
import { slipwayProto } from '../common/grpc/proto.js';
import { BUILD_PHASES } from '../api/types.js';
import { validateBuildConfigSpec } from '../api/validation.js';
import { SlipwayClient } from '../cli/client.js';
import { BUILDCONFIGS_BUCKET, BUILDS_BUCKET, SECRETS_BUCKET } from '../common/nats/names.js';
import { malformedBytes, Random, randomMessage } from './helpers/fuzz.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort } from './helpers/ports.js';
import { startCoordinatorProcess } from './helpers/service-processes.js';

const REQUESTS = Number(process.env.SLIPWAY_FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.SLIPWAY_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** Answers a hostile request may get. Anything else (INTERNAL, UNKNOWN, UNAVAILABLE...) is a finding. */
const EXPECTED = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.ALREADY_EXISTS,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.ABORTED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.CANCELLED,
]);

interface Method {
  service: string;
  name: string;
  def: grpc.MethodDefinition<object, unknown>;
  requestType: string;
}

function methods(): Method[] {
  const v1 = slipwayProto().slipway.v1 as unknown as Record<
    string,
    { service?: grpc.ServiceDefinition } & { type?: unknown }
  >;
  return ['BuildService', 'AgentService'].flatMap((service) =>
    Object.entries(v1[service]!.service!).map(([name, def]) => ({
      service,
      name,
      def: def as grpc.MethodDefinition<object, unknown>,
      // proto-loader names the request type on the definition.
      requestType: (def as unknown as { requestType: { type: { name: string } } }).requestType.type.name,
    })),
  );
}

test('10,000 fuzzed gRPC requests: the coordinator never crashes, answers each precisely, and stores nothing partial', async (t) => {
  t.timeout(240_000);
  t.log(`seed ${SEED} (replay: SLIPWAY_FUZZ_SEED=${SEED}), ${REQUESTS} requests`);
  const nats = await startNatsServer(t);
  const port = await freePort();
  const coordinator = await startCoordinatorProcess(t, { natsUrl: nats.url, port });
  const address = `127.0.0.1:${port}`;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  // Requests over the server's 4 MiB limit go on a connection of their own: the server answers
  // RESOURCE_EXHAUSTED, and its HTTP/2 layer may then drop that whole connection (UNAVAILABLE
  // for whatever else was on it), which only the sender of such requests feels.
  const oversizeClient = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 2 ** 20,
    'slipway.fuzz.connection': 'oversize',
  });
  t.teardown(() => oversizeClient.close());
  const OVERSIZE = 4 * 2 ** 20 - 1024;

  // A config that exists, so that some requests get past "not found".
  const slipway = new SlipwayClient(address);
  t.teardown(() => slipway.close());
  // A config the fuzzer never names (it may well delete 'hello'), to see the coordinator still answers.
  await slipway.createBuildConfig({
    metadata: { name: 'fuzz-canary', namespace: 'default' },
    spec: {
      source: { dockerfile: 'FROM scratch\n' },
      strategy: { docker: {} },
      output: { image: '127.0.0.1:5000/fuzz/canary:latest' },
    },
  });
  await slipway.createBuildConfig({
    metadata: { name: 'hello', namespace: 'default' },
    spec: {
      source: { dockerfile: 'FROM scratch\n' },
      strategy: { docker: {} },
      output: { image: '127.0.0.1:5000/fuzz/hello:latest' },
    },
  });

  const r = new Random(SEED);
  const all = methods();
  const raw = (b: Buffer) => b;
  const findings: string[] = [];
  const codes = new Map<string, number>();
  const count = (m: Method, code: number, details: string, oversize: boolean) => {
    const key = `${m.name} ${grpc.status[code]}${oversize ? ' (oversize)' : ''}`;
    codes.set(key, (codes.get(key) ?? 0) + 1);
    if (oversize) {
      if (code !== grpc.status.RESOURCE_EXHAUSTED && code !== grpc.status.UNAVAILABLE)
        findings.push(`${m.name} oversize: ${grpc.status[code]}`);
    } else if (!EXPECTED.has(code))
      findings.push(`${m.service}.${m.name}: ${grpc.status[code]} ${JSON.stringify(details.slice(0, 160))}`);
    else if (code === grpc.status.INVALID_ARGUMENT && details.trim() === '')
      findings.push(`${m.name}: INVALID_ARGUMENT without saying why`);
  };

  const request = (m: Method): Buffer => {
    const message = randomMessage(r, m.requestType);
    let bytes: Buffer;
    try {
      bytes = m.def.requestSerialize(message);
    } catch {
      bytes = Buffer.alloc(0);
    }
    return r.chance(0.45) ? malformedBytes(r, bytes) : bytes;
  };

  const once = (m: Method): Promise<void> =>
    new Promise((resolve) => {
      const deadline = new Date(Date.now() + 20_000);
      const payloads = Array.from({ length: m.def.requestStream ? 1 + r.int(3) : 1 }, () => request(m));
      const oversize = payloads.some((p) => p.length > OVERSIZE);
      const via = oversize ? oversizeClient : client;
      const done = (err: grpc.ServiceError | null) => {
        count(m, err ? err.code : grpc.status.OK, err?.details ?? '', oversize);
        resolve();
      };
      if (m.def.requestStream) {
        const call = via.makeClientStreamRequest(m.def.path, raw, raw, new grpc.Metadata(), { deadline }, (err) =>
          done(err),
        );
        for (const p of payloads) call.write(p);
        call.end();
      } else if (m.def.responseStream) {
        const call = via.makeServerStreamRequest(m.def.path, raw, raw, payloads[0]!, new grpc.Metadata(), { deadline });
        let settled = false;
        const settle = (err: grpc.ServiceError | null) => {
          if (settled) return;
          settled = true;
          done(err);
        };
        call.on('data', () => {});
        call.on('error', (err: grpc.ServiceError) => settle(err));
        call.on('end', () => settle(null));
        // A follow or a watch goes on until cancelled.
        setTimeout(() => call.cancel(), 100);
      } else {
        via.makeUnaryRequest(m.def.path, raw, raw, payloads[0]!, new grpc.Metadata(), { deadline }, (err) => done(err));
      }
    });

  let sent = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent < REQUESTS) {
        sent++;
        await once(r.pick(all));
      }
    }),
  );
  t.log(
    [...codes.entries()]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
  );
  if (findings.length > 0) t.log(`unexpected answers, e.g.:\n${[...new Set(findings)].slice(0, 10).join('\n')}`);

  // It still runs, and still answers.
  const alive = (() => {
    try {
      process.kill(coordinator.pid, 0);
      return true;
    } catch {
      return false;
    }
  })();
  if (!alive)
    t.log(
      `the coordinator died; its last words:\n${coordinator
        .logs()
        .slice(-15)
        .map((l) => JSON.stringify(l).slice(0, 600))
        .join('\n')}`,
    );
  t.true(alive, 'the coordinator process is alive');
  const canary = await slipway.getBuildConfig('default', 'fuzz-canary');
  t.is(canary.metadata!.name, 'fuzz-canary');
  const internal = coordinator
    .logs()
    .filter((l) => l.level === 'error' || /internal error|uncaught|unhandled/i.test(String(l.msg)));
  const said = (l: Record<string, unknown>) =>
    JSON.stringify(`${l.method ?? ''} ${l.msg} ${l.error ?? ''}`.slice(0, 160));
  t.deepEqual(internal.slice(0, 10).map(said), [], `${internal.length} internal errors in its log`);
  t.deepEqual([...new Set(findings)].slice(0, 20), [], `${findings.length} unexpected answers`);

  // Nothing partial is stored: every BuildConfig and Build is whole and valid, every secret sealed.
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kvm = new Kvm(nc);
  const broken: string[] = [];
  const each = async (bucket: string, check: (v: Record<string, unknown>) => string | undefined) => {
    const kv = await kvm.open(bucket);
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      let value: Record<string, unknown>;
      try {
        value = entry.json<Record<string, unknown>>();
      } catch {
        broken.push(`${bucket} ${key}: not JSON`);
        continue;
      }
      const problem = check(value);
      if (problem) broken.push(`${bucket} ${key}: ${problem}`);
    }
  };
  const specProblem = (spec: unknown, path: string) => {
    try {
      validateBuildConfigSpec(spec, path);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
  await each(
    BUILDCONFIGS_BUCKET,
    (c) =>
      specProblem(c.spec, 'spec') ??
      (typeof (c.metadata as { name?: unknown })?.name === 'string' ? undefined : 'no name'),
  );
  await each(BUILDS_BUCKET, (b) => {
    const status = b.status as { phase?: string } | undefined;
    if (!BUILD_PHASES.includes(status?.phase as never)) return `phase ${status?.phase}`;
    return specProblem((b.spec as { config?: unknown })?.config, 'spec.config');
  });
  await each(SECRETS_BUCKET, (s) => {
    const sealed = s.sealed as { iv?: unknown; tag?: unknown; data?: unknown } | undefined;
    return typeof sealed?.iv === 'string' && typeof sealed.tag === 'string' && typeof sealed.data === 'string'
      ? undefined
      : `not sealed whole: ${Object.keys(s).join(',')}`;
  });
  t.deepEqual(broken, [], 'every stored object is whole');
});
