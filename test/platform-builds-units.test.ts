import test from 'ava';
import type { Build } from '../api/types.js';
import { ownPlatformLabels, parsePlatform, platformBuildName, platformBuildOf } from '../api/platforms.js';
import { validateBuildConfigSpec } from '../api/validation.js';
import { InvalidBuildConfigError } from '../common/errors.js';
import { RegistrySession } from '../common/registry-session.js';
import { registryHostsProblem } from '../common/settings/checks.js';
import {
  buildsPlatforms,
  completeWithIndex,
  fanOut,
  followPlatforms,
  platformBuild,
  takeIndexPush,
} from '../coordinator/builds/platform-builds.js';
import { cancel } from '../coordinator/builds/transitions.js';

const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-01T00:00:30Z');

const parent = (): Build => ({
  metadata: {
    name: 'web-3',
    namespace: 'team',
    uid: 'u',
    creationTimestamp: now.toISOString(),
    generation: 1,
    labels: { 'slipway.dev/buildconfig': 'web' },
  },
  spec: {
    configName: 'web',
    configGeneration: 2,
    config: {
      source: { git: { uri: 'git://h/r' } },
      strategy: { docker: {} },
      output: { image: 'reg/web:v1', pushSecret: { name: 'push' }, platforms: ['linux/amd64', 'linux/arm/v7'] },
      nodeSelector: { pool: 'builders' },
      runPolicy: 'Serial',
      successfulBuildsHistoryLimit: 3,
    },
  },
  status: { phase: 'New', attempt: 0 },
});

/** A platform build at `phase`, as the controller reads it back. */
function child(p: Build, platform: string, status: Partial<Build['status']>): Build {
  const c = platformBuild(p, platform, `uid-${platform}`, now);
  return { ...c, status: { ...c.status, ...status } as Build['status'] };
}

test('platforms parse as os/arch[/variant]; anything else is refused with the form', (t) => {
  t.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64' });
  t.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  for (const bad of ['linux', 'Linux/amd64', 'linux/amd64/', 'linux/arm/7', 'linux/amd64/v2/x'])
    t.regex(parsePlatform(bad) as string, /is not a platform: os\/arch or os\/arch\/variant/, bad);
  t.is(platformBuildName('web-3', 'linux/arm/v7'), 'web-3-linux-arm-v7');
  t.deepEqual(ownPlatformLabels('x64', 'linux'), { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
  t.deepEqual(ownPlatformLabels('arm64', 'linux'), { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' });
});

test('output.platforms is checked field by field: form, repeats, strategy, and the labels each platform sets', (t) => {
  const spec = (extra: Record<string, unknown>) => ({
    source: { git: { uri: 'https://h/r.git' } },
    strategy: { docker: {} },
    output: { image: 'reg/web:v1' },
    ...extra,
  });
  const fields = (input: unknown) => {
    const err = t.throws(() => validateBuildConfigSpec(input), { instanceOf: InvalidBuildConfigError });
    return err!.fields.map((f) => `${f.field}: ${f.message}`);
  };
  t.deepEqual(
    validateBuildConfigSpec(spec({ output: { image: 'reg/web:v1', platforms: ['linux/amd64', 'linux/arm64'] } })).output
      .platforms,
    ['linux/amd64', 'linux/arm64'],
  );
  t.deepEqual(fields(spec({ output: { image: 'reg/web:v1', platforms: ['linux/amd64', 'amd64', 'linux/amd64'] } })), [
    'spec.output.platforms[1]: "amd64" is not a platform: os/arch or os/arch/variant, lower case (e.g. linux/arm64, linux/arm/v7)',
    'spec.output.platforms[2]: "linux/amd64" is given twice',
  ]);
  t.deepEqual(
    validateBuildConfigSpec(spec({ output: { image: 'reg/web:v1', platforms: [] } })).output,
    { image: 'reg/web:v1' },
    "none named (as an empty repeated field of a gRPC message): the node's own platform",
  );
  t.deepEqual(
    fields({
      ...spec({ output: { image: 'reg/web:v1', platforms: ['linux/arm64'] } }),
      strategy: { source: { builderImage: 'reg/s2i:1' } },
    }),
    [
      "spec.output.platforms: only the docker strategy builds for named platforms (BuildKit's platform option); this config uses source",
    ],
  );
  t.deepEqual(
    fields(
      spec({
        output: { image: 'reg/web:v1', platforms: ['linux/arm64'] },
        nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      }),
    ),
    [
      "spec.nodeSelector.kubernetes.io/arch: cannot be set with output.platforms: each platform's build selects the nodes of its own kubernetes.io/arch",
    ],
  );
});

test('leaving New, a build of several platforms runs no attempt itself: it names a build per platform', (t) => {
  const p = parent();
  t.true(buildsPlatforms(p));
  const running = fanOut(p, now)!;
  t.is(running.status.phase, 'Running');
  t.is(running.status.agent, undefined);
  t.deepEqual(running.status.platforms, [
    { platform: 'linux/amd64', build: 'web-3-linux-amd64', phase: 'New' },
    { platform: 'linux/arm/v7', build: 'web-3-linux-arm-v7', phase: 'New' },
  ]);
  t.is(fanOut(running, now), undefined, 'past New: nothing');

  const c = platformBuild(running, 'linux/arm/v7', 'uid-1', now);
  t.is(c.metadata.name, 'web-3-linux-arm-v7');
  t.is(c.spec.platform, 'linux/arm/v7');
  t.is(c.spec.parent, 'web-3');
  t.false(buildsPlatforms(c), 'a platform build makes one image');
  t.deepEqual(c.spec.config.nodeSelector, {
    pool: 'builders',
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'arm',
  });
  t.deepEqual(c.spec.config.output, { image: 'reg/web:v1', pushSecret: { name: 'push' } });
  t.is(c.spec.config.runPolicy, undefined, "the parent holds the config's run policy");
  t.is(c.spec.config.successfulBuildsHistoryLimit, undefined);
  t.is(c.metadata.labels['slipway.dev/parent-build'], 'web-3');
  t.deepEqual(c.status, { phase: 'New', attempt: 0 });
});

test("the parent follows its platforms: a waiting one's reason names it; all complete asks for the index", (t) => {
  const running = fanOut(parent(), now)!;
  const armWaits = () => [
    child(running, 'linux/amd64', { phase: 'Running', attempt: 1, agent: 'a', node: 'n1' }),
    child(running, 'linux/arm/v7', {
      phase: 'Pending',
      attempt: 1,
      reason: 'NoMatchingAgent',
      message: 'no agent can build platform linux/arm/v7 natively: …',
    }),
  ];
  const waiting = followPlatforms(running, armWaits(), now);
  t.false(waiting.complete);
  t.is(waiting.next!.status.phase, 'Running');
  t.is(waiting.next!.status.reason, 'NoMatchingAgent');
  t.is(
    waiting.next!.status.message,
    'platform linux/arm/v7 waits: no agent can build platform linux/arm/v7 natively: …',
  );
  t.like(waiting.next!.status.platforms![0], { phase: 'Running', agent: 'a', node: 'n1' });

  const same = followPlatforms(waiting.next!, armWaits(), now);
  t.is(same.next, undefined, 'nothing changed: nothing to write');

  const done = (digest: string, node: string) => ({
    phase: 'Complete' as const,
    attempt: 1,
    node,
    output: { image: 'reg/web', digest },
  });
  const complete = followPlatforms(
    waiting.next!,
    [child(running, 'linux/amd64', done('sha256:a', 'n1')), child(running, 'linux/arm/v7', done('sha256:b', 'n2'))],
    later,
  );
  t.true(complete.complete);
  t.is(complete.next!.status.reason, undefined);
  t.deepEqual(
    complete.next!.status.platforms!.map((p) => [p.platform, p.digest, p.node]),
    [
      ['linux/amd64', 'sha256:a', 'n1'],
      ['linux/arm/v7', 'sha256:b', 'n2'],
    ],
  );
  const ended = completeWithIndex(complete.next!, { image: 'reg/web:v1', digest: 'sha256:i' }, later);
  t.is(ended.status.phase, 'Complete');
  t.deepEqual(ended.status.output, { image: 'reg/web:v1', digest: 'sha256:i' });
});

test('one platform that fails ends the build with that platform named; a cancel ends it at once', (t) => {
  const running = fanOut(parent(), now)!;
  const { next, complete } = followPlatforms(
    running,
    [
      child(running, 'linux/amd64', { phase: 'Running', attempt: 1, agent: 'a' }),
      child(running, 'linux/arm/v7', {
        phase: 'Failed',
        attempt: 1,
        reason: 'BuildStepFailed',
        message: 'build step "RUN make" failed with exit code 2',
      }),
    ],
    later,
  );
  t.false(complete);
  t.is(next!.status.phase, 'Failed');
  t.is(next!.status.reason, 'BuildStepFailed');
  t.is(
    next!.status.message,
    'platform linux/arm/v7 (build web-3-linux-arm-v7) ended Failed (BuildStepFailed): build step "RUN make" failed with exit code 2',
  );
  t.is(next!.status.output, undefined, 'no index: the tag is not moved');

  const cancelled = cancel(running, later)!;
  t.is(cancelled.status.phase, 'Cancelled', 'no agent to stop: it ends now, its platforms follow');
});

test('one coordinator pushes the index; another takes it over only once the first has gone quiet', (t) => {
  const running = fanOut(parent(), now)!;
  const taken = takeIndexPush(running, 'c1', now, 60_000)!;
  t.deepEqual(taken.status.indexPush, { coordinator: 'c1', timestamp: now.toISOString() });
  t.is(takeIndexPush(taken, 'c2', later, 60_000), undefined);
  t.truthy(takeIndexPush(taken, 'c1', later, 60_000), 'its own push it may repeat');
  t.like(takeIndexPush(taken, 'c2', new Date('2026-01-01T00:01:01Z'), 60_000)!.status.indexPush, {
    coordinator: 'c2',
  });
});

test("a registry listed insecure is pushed to over plain HTTP (the agent's push by digest, the coordinator's index)", (t) => {
  const image = { registry: 'registry.internal:5000', repository: 'team/web' };
  t.is(new RegistrySession(image, { actions: 'pull,push' }).base, 'https://registry.internal:5000');
  t.is(
    new RegistrySession(image, { actions: 'pull,push', insecureRegistries: ['registry.internal:5000'] }).base,
    'http://registry.internal:5000',
  );
  t.is(registryHostsProblem(['registry.internal:5000', '[::1]:5000']), undefined);
  t.is(registryHostsProblem(['http://registry.internal']), '"http://registry.internal" is not host[:port]');
});

test("a platform's build is found by its platform, for its log; one not made is said, with what is", (t) => {
  const platforms = [
    { platform: 'linux/amd64', build: 'web-3-linux-amd64' },
    { platform: 'linux/arm64', build: 'web-3-linux-arm64' },
  ];
  t.deepEqual(platformBuildOf('web-3', platforms, 'linux/arm64'), { build: 'web-3-linux-arm64' });
  t.deepEqual(platformBuildOf('web-3', platforms, 'linux/s390x'), {
    problem: 'build web-3 makes no platform linux/s390x (it builds linux/amd64, linux/arm64)',
  });
  t.deepEqual(platformBuildOf('app-1', [], 'linux/arm64'), {
    problem: 'build app-1 builds one image, not several platforms: name no platform',
  });
});
