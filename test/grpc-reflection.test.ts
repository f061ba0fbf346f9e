import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SlipwayClient } from '../cli/client.js';
import { testEnvironment } from './helpers/environment.js';
import { tempDir } from './helpers/processes.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

/**
 * Issue #26's must-show 4: a client that has no proto file of Slipway's (only the reflection
 * protocol's own, from @grpc/reflection) lists the coordinator's services, fetches BuildService's
 * file descriptor, and calls BuildService with nothing but that descriptor; without a token it
 * gets UNAUTHENTICATED, as BuildService answers.
 */

const unique = () => randomBytes(6).toString('hex');
const REFLECTION_PROTOS = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')),
  'build/proto',
);

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}
type ReflectionCall = grpc.ClientDuplexStream<object, ReflectionResponse>;
type ReflectionClient = grpc.Client & { ServerReflectionInfo(metadata: grpc.Metadata): ReflectionCall };

/** A client of `grpc.reflection.<version>.ServerReflection`, from the reflection protocol's own proto. */
function reflectionClient(address: string, version: 'v1' | 'v1alpha' = 'v1'): ReflectionClient {
  const proto = path.join(REFLECTION_PROTOS, 'grpc', 'reflection', version, 'reflection.proto');
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(proto)) as unknown as {
    grpc: {
      reflection: Record<string, { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => ReflectionClient }>;
    };
  };
  return new pkg.grpc.reflection[version]!.ServerReflection(address, grpc.credentials.createInsecure());
}

const withToken = (token?: string) => {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
};

/** One request on a reflection stream and its answer; rejects with the call's error. */
function reflect(client: ReflectionClient, token: string | undefined, request: object): Promise<ReflectionResponse> {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo(withToken(token));
    call.on('data', (r: ReflectionResponse) => {
      resolve(r);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

/** Serialized FileDescriptorProtos as a FileDescriptorSet (`repeated FileDescriptorProto file = 1`), by hand. */
function fileDescriptorSet(files: Buffer[]): Buffer {
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
    out.push(n);
    return Buffer.from(out);
  };
  return Buffer.concat(files.flatMap((f) => [Buffer.from([0x0a]), varint(f.length), f]));
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return grpc.status[(err as grpc.ServiceError).code] ?? String(err);
  }
}

test('server reflection: a client with no proto files lists the services, fetches BuildService and calls it; without a token, UNAUTHENTICATED', async (t) => {
  const tokens = { admin: unique(), viewer: unique(), nobody: unique() };
  const file = path.join(await tempDir(t, 'slipway-tokens-'), 'tokens.csv');
  await writeFile(
    file,
    [
      `${tokens.admin},alice,1,"slipway:admins"`,
      `${tokens.viewer},carol,3,"slipway:viewers"`,
      // Known, but in no role group: may describe the API, not read it.
      `${tokens.nobody},erin,5,"team-x"`,
    ].join('\n') + '\n',
  );
  const sw = await startSlipway(t, { agents: 0, coordinator: { apiTokensFile: file } });
  const address = sw.coordinators[0]!.address;
  const admin = new SlipwayClient(address, 10_000, {}, { token: tokens.admin });
  t.teardown(() => admin.close());
  const env = testEnvironment();
  await admin.createBuildConfig(
    dockerBuildConfig('reflected', 'https://git.example.invalid/app.git', `${env.registry}/test/reflected:v1`),
  );
  const client = reflectionClient(address);
  t.teardown(() => client.close());
  const list = { host: '', listServices: '*' };

  // Without a token, or with an unknown one: refused before anything is answered.
  t.is(await code(reflect(client, undefined, list)), 'UNAUTHENTICATED');
  t.is(await code(reflect(client, 'not-a-token', list)), 'UNAUTHENTICATED');
  // The older v1alpha, which some clients ask first, is behind the same check.
  const alpha = reflectionClient(address, 'v1alpha');
  t.teardown(() => alpha.close());
  t.is(await code(reflect(alpha, undefined, list)), 'UNAUTHENTICATED');
  t.true((await reflect(alpha, tokens.viewer, list)).listServicesResponse!.service.length > 0);

  const listed = await reflect(client, tokens.viewer, list);
  const names = listed.listServicesResponse!.service.map((s) => s.name);
  t.true(names.includes('slipway.v1.BuildService'), names.join(', '));
  t.true(names.includes('grpc.health.v1.Health'), names.join(', '));
  t.false(names.includes('slipway.v1.AgentService'), names.join(', '));

  const found = await reflect(client, tokens.viewer, { fileContainingSymbol: 'slipway.v1.BuildService' });
  const files = found.fileDescriptorResponse!.fileDescriptorProto;
  t.true(files.length >= 1);
  const missing = await reflect(client, tokens.viewer, { fileContainingSymbol: 'slipway.v1.NoSuchThing' });
  t.is(missing.errorResponse?.errorCode, grpc.status.NOT_FOUND);

  // A BuildService client made from the reflected descriptor alone.
  const reflected = grpc.loadPackageDefinition(
    protoLoader.loadFileDescriptorSetFromBuffer(fileDescriptorSet(files), {
      longs: Number,
      enums: String,
      defaults: true,
    }),
  ) as unknown as {
    slipway: { v1: { BuildService: new (a: string, c: grpc.ChannelCredentials) => grpc.Client } };
  };
  const buildService = new reflected.slipway.v1.BuildService(
    address,
    grpc.credentials.createInsecure(),
  ) as grpc.Client &
    Record<string, (req: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => void>;
  t.teardown(() => buildService.close());
  const call = (method: string, token: string | undefined, req: object) =>
    new Promise<unknown>((resolve, reject) =>
      buildService[method]!(req, withToken(token), (err, res) => (err ? reject(err) : resolve(res))),
    );
  const page = (await call('ListBuildConfigs', tokens.viewer, { namespace: 'default' })) as {
    items: { metadata: { name: string }; spec: { source: { git: { uri: string } } } }[];
  };
  t.deepEqual(
    page.items.map((c) => [c.metadata.name, c.spec.source.git.uri]),
    [['reflected', 'https://git.example.invalid/app.git']],
  );
  // The same auth as BuildService: a token is needed, and describing is not reading.
  t.is(await code(call('ListBuildConfigs', undefined, { namespace: 'default' })), 'UNAUTHENTICATED');
  t.true((await reflect(client, tokens.nobody, list)).listServicesResponse!.service.length > 0);
  t.is(await code(call('ListBuildConfigs', tokens.nobody, { namespace: 'default' })), 'PERMISSION_DENIED');
});
