import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { claimedBuildFrom } from '../agent/jobs/claimed-build.js';
import { InvalidOutputLayoutError, pushLayout } from '../agent/strategies/oci-layout-push.js';
import type { CanonicalImage } from '../common/image-reference.js';
import { validateBuildConfigSpec } from '../api/validation.js';
import { InvalidBuildConfigError } from '../common/errors.js';
import { slipwayProto } from '../common/grpc/proto.js';
import type {
  ClaimBuildResponse,
  ClaimBuildResponse__Output,
} from '../proto/generated/slipway/v1/ClaimBuildResponse.js';

const spec = (strategy: unknown, source: unknown = { git: { uri: 'git://h/app' } }): unknown => ({
  source,
  strategy,
  output: { image: '127.0.0.1:5000/team/app:v1' },
});

function fieldErrors(input: unknown): Record<string, string> {
  try {
    validateBuildConfigSpec(input);
  } catch (err) {
    if (!(err instanceof InvalidBuildConfigError)) throw err;
    return Object.fromEntries(err.fields.map((f) => [f.field, f.message]));
  }
  return {};
}

test('a custom strategy is kept as given', (t) => {
  const custom = {
    image: 'r.example/tools/builder:1',
    env: [{ name: 'MODE', value: 'fast' }],
    exposeDockerSocket: true,
    forcePull: true,
    pullSecret: { name: 'pull' },
  };
  t.deepEqual(validateBuildConfigSpec(spec({ custom })).strategy, { custom });
});

test('each bad custom strategy field is named', (t) => {
  t.deepEqual(
    fieldErrors(
      spec({
        custom: {
          image: 'Not A Reference',
          env: [
            { name: 'SLIPWAY_BUILD', value: 'mine' },
            { name: '1x', value: '' },
            { name: 'A', value: '1' },
            { name: 'A', value: '2' },
          ],
          pullSecret: { name: 'Bad_Name' },
        },
      }),
    ),
    {
      'spec.strategy.custom.image': '"Not A Reference" is not a valid image reference ([registry/]repository[:tag])',
      'spec.strategy.custom.env[0].name': '"SLIPWAY_BUILD": SLIPWAY_* variables are set by the agent',
      'spec.strategy.custom.env[1].name': '"1x" is not a valid variable name',
      'spec.strategy.custom.env[3].name': '"A" is given twice',
      'spec.strategy.custom.pullSecret.name':
        '"Bad_Name" must consist of lower case letters, digits and \'-\', and start and end with a letter or digit',
    },
  );
  t.deepEqual(fieldErrors(spec({ custom: {} })), { 'spec.strategy.custom.image': 'is required' });
  t.deepEqual(
    fieldErrors(
      spec({
        custom: {
          image: 'a/b',
          secrets: [
            { id: '../x', secret: { name: 'a' } },
            { id: 'ok', secret: { name: 'Bad' } },
          ],
        },
      }),
    ),
    {
      'spec.strategy.custom.secrets[0].id': `"../x" must consist of letters, digits, '.', '_' and '-' (and not be "." or "..")`,
      'spec.strategy.custom.secrets[1].secret.name':
        '"Bad" must consist of lower case letters, digits and \'-\', and start and end with a letter or digit',
    },
  );
  t.deepEqual(Object.keys(fieldErrors(spec({ custom: { image: 'a/b', volumes: [{ name: 'x' }] } }))), [
    'spec.strategy.custom.volumes',
  ]);
});

test('exactly one strategy: custom with docker or source is refused; an inline Dockerfile is not for custom', (t) => {
  t.deepEqual(fieldErrors(spec({ custom: { image: 'a/b' }, docker: {} })), {
    'spec.strategy': 'needs exactly one of docker, source or custom',
  });
  t.deepEqual(fieldErrors(spec({ custom: { image: 'a/b' } }, { dockerfile: 'FROM x' })), {
    'spec.source.dockerfile': 'is for the docker strategy, not custom',
  });
});

function received(res: ClaimBuildResponse): ClaimBuildResponse__Output {
  const method = slipwayProto().slipway.v1.AgentService.service.ClaimBuild;
  return method.responseDeserialize(method.responseSerialize(res));
}

test('the claim turns a custom strategy into the agent’s, with its defaults', (t) => {
  const ref = { namespace: 'team', name: 'app-1', attempt: 1 };
  const claimed = (custom: object) =>
    claimedBuildFrom(
      received({
        build: {
          metadata: { namespace: 'team', name: 'app-1' },
          status: { phase: 'Running', attempt: 1 },
          spec: {
            configName: 'app',
            config: { source: { git: { uri: 'git://h/app' } }, strategy: { custom }, output: { image: 'r/a' } },
          },
        },
      }),
      ref,
    ).strategy;
  t.deepEqual(claimed({ image: 'r/builder' }), {
    kind: 'custom',
    image: 'r/builder',
    env: [],
    exposeDockerSocket: false,
    forcePull: false,
    pullSecret: undefined,
    secrets: [],
  });
  t.deepEqual(
    claimed({
      image: 'r/builder',
      env: [{ name: 'A', value: 'b' }],
      exposeDockerSocket: true,
      pullSecret: { name: 'p' },
      secrets: [{ id: 'token', secret: { name: 'api-token' } }],
    }),
    {
      kind: 'custom',
      image: 'r/builder',
      env: [{ name: 'A', value: 'b' }],
      exposeDockerSocket: true,
      forcePull: false,
      pullSecret: 'p',
      secrets: [{ id: 'token', secretName: 'api-token' }],
    },
  );
});

test('an output layout with other than one image manifest, or a blob that does not match its digest, is refused', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-layout-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const image = { registry: '127.0.0.1:1', repository: 'team/app', tag: 'v1' } as CanonicalImage;
  const push = () => pushLayout(dir, image, undefined, new AbortController().signal, () => {});
  const manifest = (digest: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 2 });
  const a = `sha256:${'a'.repeat(64)}`;
  await writeFile(path.join(dir, 'index.json'), JSON.stringify({ manifests: [manifest(a), manifest(a)] }));
  const two = await t.throwsAsync(push(), { instanceOf: InvalidOutputLayoutError });
  t.is(two.reason, 'InvalidOutputLayout');
  t.regex(two.message, /names 2 image manifests; exactly one is pushed/);

  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(dir, 'blobs', 'sha256', 'a'.repeat(64)), '{}');
  await writeFile(path.join(dir, 'index.json'), JSON.stringify({ manifests: [manifest(a)] }));
  await t.throwsAsync(push(), { instanceOf: InvalidOutputLayoutError, message: /does not match its digest/ });
});

test('a config asking for unprivileged builds cannot give its custom builder a Docker daemon', (t) => {
  const s = {
    ...(spec({ custom: { image: 'a/b', exposeDockerSocket: true } }) as object),
    security: { unprivileged: true },
  };
  t.deepEqual(fieldErrors(s), {
    'spec.strategy.custom.exposeDockerSocket':
      'cannot be true with security.unprivileged: a builder given a Docker daemon can start containers as root on the node',
  });
  t.deepEqual(fieldErrors({ ...s, strategy: { custom: { image: 'a/b' } } }), {}, 'without the daemon it may');
});
