import test from 'ava';
import { AgentInternalError, MalformedBuildError } from '../agent/build-failures.js';
import { claimedBuildFrom } from '../agent/jobs/claimed-build.js';
import { slipwayProto } from '../common/grpc/proto.js';
import type {
  ClaimBuildResponse,
  ClaimBuildResponse__Output,
} from '../proto/generated/slipway/v1/ClaimBuildResponse.js';

/** The answer as the agent receives it: through the wire, with proto3's defaults filled in. */
function received(res: ClaimBuildResponse): ClaimBuildResponse__Output {
  const method = slipwayProto().slipway.v1.AgentService.service.ClaimBuild;
  return method.responseDeserialize(method.responseSerialize(res));
}

const ref = { namespace: 'team', name: 'app-1', attempt: 2 };
const meta = { metadata: { namespace: 'team', name: 'app-1' }, status: { phase: 'Running', attempt: 2 } };

test('a docker build from git: what the message leaves empty takes the documented defaults', (t) => {
  const build = claimedBuildFrom(
    received({
      build: {
        ...meta,
        spec: {
          configName: 'app',
          config: {
            source: { git: { uri: 'git://h/app' } },
            strategy: { docker: {} },
            output: { image: 'r.example/team/app' },
          },
        },
      },
    }),
    ref,
  );
  t.deepEqual(build, {
    ref,
    configName: 'app',
    startedAtMs: undefined,
    platform: undefined,
    completionDeadlineSeconds: undefined,
    source: {
      upload: undefined,
      git: { uri: 'git://h/app', ref: undefined, submodules: true },
      contextDir: '.',
      dockerfile: undefined,
      sourceSecret: undefined,
      images: [],
    },
    strategy: {
      kind: 'docker',
      dockerfilePath: 'Dockerfile',
      buildArgs: [],
      noCache: false,
      env: [],
      target: undefined,
      forcePull: false,
      from: undefined,
      pullSecret: undefined,
      secrets: [],
    },
    output: { image: 'r.example/team/app', pushSecret: undefined },
    resources: { cpu: undefined, memory: undefined },
    unprivilegedRequired: undefined,
    sourceImageDigests: undefined,
    credentials: { push: undefined, source: undefined, pull: undefined, build: new Map(), sourceImages: new Map() },
  });
});

test('source images: each image, its pull secret and paths; the digests an earlier attempt recorded; the pull secrets by name', (t) => {
  const creds = { registry: 'r.example', username: 'u', password: 'p' };
  const digest = `sha256:${'a'.repeat(64)}`;
  const build = claimedBuildFrom(
    received({
      build: {
        metadata: meta.metadata,
        status: { ...meta.status, sourceImages: [{ from: 'r.example/deps:v1', digest }] },
        spec: {
          configName: 'app',
          config: {
            source: {
              dockerfile: 'FROM scratch',
              images: [
                {
                  from: 'r.example/deps:v1',
                  pullSecret: { name: 'deps' },
                  paths: [{ sourcePath: '/opt/.', destinationDir: 'vendor' }, { sourcePath: '/bin/tool' }],
                },
              ],
            },
            strategy: { docker: {} },
            output: { image: 'r.example/team/app' },
          },
        },
      },
      sourceImageCredentials: [{ name: 'deps', credentials: creds }],
    }),
    ref,
  );
  t.deepEqual(build.source.images, [
    {
      from: 'r.example/deps:v1',
      pullSecret: 'deps',
      paths: [
        { sourcePath: '/opt/.', destinationDir: 'vendor' },
        { sourcePath: '/bin/tool', destinationDir: '' },
      ],
    },
  ]);
  t.deepEqual(build.sourceImageDigests, [{ from: 'r.example/deps:v1', digest }]);
  t.deepEqual(
    build.credentials.sourceImages,
    new Map([['deps', { ...creds, sshPrivateKey: undefined, knownHosts: undefined }]]),
  );
});

test('build secrets: the ids and names the config declares, and by id the values (or wrong types) handed over', (t) => {
  const build = claimedBuildFrom(
    received({
      build: {
        ...meta,
        spec: {
          configName: 'app',
          config: {
            source: { dockerfile: 'FROM scratch' },
            strategy: {
              docker: {
                secrets: [
                  { id: 'token', secret: { name: 'npm-token' } },
                  { id: 'gone', secret: { name: 'deleted' } },
                  { id: 'creds', secret: { name: 'registry' } },
                ],
              },
            },
            output: { image: 'r.example/team/app' },
          },
        },
      },
      buildSecrets: [
        { id: 'token', value: Buffer.from('s3cr3t\n') },
        { id: 'creds', wrongType: 'docker-registry' },
      ],
    }),
    ref,
  );
  t.like(build.strategy, {
    secrets: [
      { id: 'token', secretName: 'npm-token' },
      { id: 'gone', secretName: 'deleted' },
      { id: 'creds', secretName: 'registry' },
    ],
  });
  t.deepEqual(
    build.credentials.build,
    new Map<string, unknown>([
      ['token', { value: Buffer.from('s3cr3t\n') }],
      ['creds', { wrongType: 'docker-registry' }],
    ]),
  );
});

test('a Source-to-Image build of an upload, with secrets, limits and a deadline', (t) => {
  const creds = { registry: 'r.example', username: 'u', password: 'p' };
  const build = claimedBuildFrom(
    received({
      build: {
        metadata: meta.metadata,
        status: { ...meta.status, startTimestamp: '2026-01-01T00:00:10Z' },
        spec: {
          configName: 'app',
          config: {
            source: {
              binary: { object: 'ctx-1', sha256: 'abc', size: 42 },
              contextDir: 'sub',
              sourceSecret: { name: 'git' },
            },
            strategy: {
              source: {
                builderImage: 'builder:1',
                env: [{ name: 'A', value: 'b' }],
                incremental: true,
                pullSecret: { name: 'pull' },
              },
            },
            output: { image: 'r.example/team/app:v1', pushSecret: { name: 'push' } },
            resources: { memory: '512Mi' },
            completionDeadlineSeconds: 60,
          },
        },
      },
      pushCredentials: creds,
      sourceCredentials: { username: 'git', password: 'token' },
      pullCredentials: { ...creds, sshPrivateKey: 'KEY', knownHosts: 'HOSTS' },
    }),
    ref,
  );
  t.is(build.startedAtMs, Date.parse('2026-01-01T00:00:10Z'));
  t.is(build.completionDeadlineSeconds, 60);
  t.deepEqual(build.source, {
    upload: { object: 'ctx-1', sha256: 'abc', size: 42 },
    git: undefined,
    contextDir: 'sub',
    dockerfile: undefined,
    sourceSecret: 'git',
    images: [],
  });
  t.deepEqual(build.strategy, {
    kind: 'source',
    builderImage: 'builder:1',
    scriptsUrl: undefined,
    env: [{ name: 'A', value: 'b' }],
    incremental: true,
    forcePull: false,
    pullSecret: 'pull',
  });
  t.deepEqual(build.output, { image: 'r.example/team/app:v1', pushSecret: 'push' });
  t.deepEqual(build.resources, { cpu: undefined, memory: '512Mi' });
  t.deepEqual(build.credentials, {
    push: { ...creds, sshPrivateKey: undefined, knownHosts: undefined },
    source: { registry: '', username: 'git', password: 'token', sshPrivateKey: undefined, knownHosts: undefined },
    pull: { ...creds, sshPrivateKey: 'KEY', knownHosts: 'HOSTS' },
    build: new Map(),
    sourceImages: new Map(),
  });
});

test('a malformed build is one MalformedBuildError naming the part at fault, reported as AgentError', (t) => {
  const config = {
    source: { git: { uri: 'git://h/app' } },
    strategy: { docker: {} },
    output: { image: 'r.example/team/app' },
  };
  const cases: [ClaimBuildResponse, string][] = [
    [{}, 'build'],
    [{ build: { status: meta.status, spec: { config } } }, 'build.metadata'],
    [{ build: { metadata: meta.metadata, spec: { config } } }, 'build.status'],
    [{ build: { ...meta, spec: { configName: 'app' } } }, 'build.spec.config'],
    [{ build: { ...meta, spec: { config: { ...config, output: null } } } }, 'build.spec.config.output'],
    [
      { build: { ...meta, spec: { config: { ...config, strategy: { docker: {}, source: { builderImage: 'b' } } } } } },
      'build.spec.config.strategy',
    ],
    [{ build: { ...meta, spec: { config: { ...config, strategy: {} } } } }, 'build.spec.config.strategy'],
    [{ build: { ...meta, status: { attempt: 3 }, spec: { config } } }, 'build'],
    [
      { build: { ...meta, status: { attempt: 2, startTimestamp: 'yesterday' }, spec: { config } } },
      'build.status.startTimestamp',
    ],
  ];
  for (const [res, field] of cases) {
    const err = t.throws(() => claimedBuildFrom(received(res), ref), { instanceOf: MalformedBuildError }, field);
    t.is(err?.field, field);
    t.true(err instanceof AgentInternalError);
    t.is(err?.reason, 'AgentError');
    t.regex(err?.message ?? '', /^the coordinator handed over a malformed build: /);
  }
});
