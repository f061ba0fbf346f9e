import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { BUILDCONFIGS_BUCKET } from '../common/nats/names.js';
import { FIELDS_METADATA_KEY } from '../common/grpc/status.js';
import { InvalidBuildConfigError } from '../common/errors.js';
import { parseBuildConfigDocument } from '../api/validation.js';
import type { BuildConfig } from '../proto/generated/slipway/v1/BuildConfig.js';
import { startSlipway } from './helpers/slipway.js';

const valid = (): BuildConfig => ({
  metadata: { name: 'app', namespace: 'default' },
  spec: {
    source: { git: { uri: 'git://127.0.0.1:9/app', ref: 'main' } },
    strategy: { docker: {} },
    output: { image: '127.0.0.1:5000/team/app:v1' },
    resources: { cpu: '500m', memory: '256Mi' },
    completionDeadlineSeconds: 600,
  },
});

const cases: [string, (c: BuildConfig) => void, string][] = [
  ['missing uri', (c) => (c.spec!.source!.git!.uri = ''), 'spec.source.git.uri'],
  ['bad image reference', (c) => (c.spec!.output!.image = 'Not An//Image:'), 'spec.output.image'],
  ['negative memory', (c) => (c.spec!.resources!.memory = '-1Gi'), 'spec.resources.memory'],
  ['cpu that is no quantity', (c) => (c.spec!.resources!.cpu = 'lots'), 'spec.resources.cpu'],
  ['negative deadline', (c) => (c.spec!.completionDeadlineSeconds = -5), 'spec.completionDeadlineSeconds'],
  ['ref that is an option', (c) => (c.spec!.source!.git!.ref = '--upload-pack=touch /tmp/x'), 'spec.source.git.ref'],
  ['local path as source', (c) => (c.spec!.source!.git!.uri = 'file:///etc'), 'spec.source.git.uri'],
  ['context dir outside the source', (c) => (c.spec!.source!.contextDir = '../..'), 'spec.source.contextDir'],
  ['bad name', (c) => (c.metadata!.name = 'Bad_Name'), 'metadata.name'],
  ['no git and no dockerfile', (c) => (c.spec!.source = { contextDir: 'app' }), 'spec.source'],
  ['bad from image', (c) => (c.spec!.strategy!.docker = { from: 'no//good' }), 'spec.strategy.docker.from'],
  [
    'env name with a space',
    (c) => (c.spec!.strategy!.docker = { env: [{ name: 'A B', value: 'x' }] }),
    'spec.strategy.docker.env[0].name',
  ],
  ['negative retries', (c) => (c.spec!.retries = -1), 'spec.retries'],
];

test('invalid BuildConfigs are refused over gRPC with the field named, and nothing is stored', async (t) => {
  const slipway = await startSlipway(t, { agents: 0 });
  for (const [what, breakIt, field] of cases) {
    const config = valid();
    breakIt(config);
    const err = await t.throwsAsync<grpc.ServiceError>(slipway.client.createBuildConfig(config), undefined, what);
    t.is(err?.code, grpc.status.INVALID_ARGUMENT, what);
    t.true(err?.details.includes(field), `${what}: "${err?.details}" names ${field}`);
    const fields = JSON.parse(String(err?.metadata.get(FIELDS_METADATA_KEY)[0])) as { field: string }[];
    t.true(
      fields.some((f) => f.field === field),
      `${what}: fields ${JSON.stringify(fields)}`,
    );
  }
  t.deepEqual(await slipway.client.listBuildConfigs('default'), []);

  // Nothing in the bucket either: not a half-written config, not a bumped counter.
  const nc = await connect({ servers: slipway.natsUrl });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).open(BUILDCONFIGS_BUCKET);
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  t.deepEqual(keys, []);

  // The valid one is accepted, so the refusals above were about the fields.
  await slipway.client.createBuildConfig(valid());
  t.is((await slipway.client.listBuildConfigs('default')).length, 1);
});

test('documents with unknown fields are refused with the field path, before anything is sent', (t) => {
  const doc = {
    apiVersion: 'build.slipway.dev/v1',
    kind: 'BuildConfig',
    metadata: { name: 'app' },
    spec: {
      source: { git: { uri: 'git://example.test/app', branch: 'main' } },
      strategy: { docker: { dockerFile: 'Dockerfile' } },
      output: { image: 'registry.test/app:v1' },
    },
  };
  const err = t.throws(() => parseBuildConfigDocument(doc), { instanceOf: InvalidBuildConfigError });
  t.deepEqual(
    err!.fields.map((f) => `${f.field}: ${f.message}`),
    ['spec.source.git.branch: unknown field', 'spec.strategy.docker.dockerFile: unknown field'],
  );
});

test('a document reports every problem at once, each with its field', (t) => {
  const err = t.throws(
    () =>
      parseBuildConfigDocument({
        metadata: { name: 'x' },
        spec: {
          source: { git: { uri: 'nope' } },
          strategy: { docker: {} },
          output: { image: 'reg.test/app@sha256:' + 'a'.repeat(64) },
          resources: { memory: 0 },
        },
      }),
    { instanceOf: InvalidBuildConfigError },
  );
  t.deepEqual(
    err!.fields.map((f) => f.field),
    ['spec.source.git.uri', 'spec.output.image', 'spec.resources.memory'],
  );
});
