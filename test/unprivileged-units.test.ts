import test from 'ava';
import type { Build } from '../api/types.js';
import { validateBuildConfigSpec } from '../api/validation.js';
import { describeBuild } from '../cli/format.js';
import { InvalidInputError } from '../common/errors.js';
import { slipwayProto } from '../common/grpc/proto.js';
import { isolationOf, type Isolation } from '../common/isolation.js';
import { claimedBuildFrom } from '../agent/jobs/claimed-build.js';
import { coordinatorConfigFromEnv, resolveCoordinatorConfig } from '../coordinator/config.js';
import { buildToProto } from '../coordinator/grpc/convert.js';
import { PlacementIndex } from '../coordinator/placement/placement-index.js';
import {
  decide,
  shapeKey,
  type AgentView,
  type Decision,
  type PlacementInputs,
} from '../coordinator/placement/placement.js';
import { UnprivilegedPolicy } from '../coordinator/placement/unprivileged-policy.js';
import type { ClaimBuildResponse__Output } from '../proto/generated/slipway/v1/ClaimBuildResponse.js';

// Issue #23 part 1: builds that must be unprivileged (a namespace's policy, or a config's
// spec.security.unprivileged) go only to agents whose builds run in a user namespace. The rules,
// without servers; test/unprivileged-placement.test.ts runs them on real agents.

const NOW = 1_000_000;

function build(
  namespace: string,
  name: string,
  o: { unprivileged?: boolean; nodeSelector?: Record<string, string> } = {},
) {
  return {
    metadata: { name, namespace, uid: name, creationTimestamp: '', generation: 1 },
    spec: {
      configName: 'app',
      configGeneration: 1,
      config: {
        source: { git: { uri: 'git://h/r', ref: 'main' } },
        strategy: { docker: {} },
        output: { image: 'r/a:v' },
        ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
        ...(o.unprivileged !== undefined ? { security: { unprivileged: o.unprivileged } } : {}),
      },
    },
    status: { phase: 'Pending', attempt: 1, queuedTimestamp: new Date(NOW).toISOString() },
  } as Build;
}

function agent(name: string, isolation: Isolation, labels: Record<string, string> = {}): AgentView {
  return {
    name,
    node: `node-${name}`,
    labels,
    capacity: 2,
    warmConfigs: [],
    warmImages: [],
    limitsDockerfileBuilds: isolation === 'userns',
    daemonPerBuild: isolation === 'userns',
    isolation,
  };
}

function inputs(o: Partial<PlacementInputs> = {}): PlacementInputs {
  return {
    now: NOW,
    affinity: false,
    affinityGraceMs: 0,
    namespaceLastPlaced: new Map(),
    agentLastPlaced: new Map(),
    missingPushSecret: () => undefined,
    ...o,
  };
}

const placed = (builds: Build[], agents: AgentView[], policy?: UnprivilegedPolicy) =>
  Object.fromEntries(
    decide(
      builds.map((b) => ({ key: `${b.metadata.namespace}/${b.metadata.name}`, build: b, revision: 1, queuedAt: NOW })),
      agents,
      new Map(),
      inputs({ unprivileged: policy }),
    ).map((d: Decision) => [d.key, d.kind === 'place' ? d.agent.name : `${d.reason}: ${d.message}`]),
  );

const teamA = new UnprivilegedPolicy(['team-a']);

test("a policy namespace's builds and a config asking for it go only to the userns agent; others anywhere", (t) => {
  const builds = [
    build('team-a', 'a-1'),
    build('team-a', 'a-2'),
    build('team-a', 'a-3'),
    build('other', 'field-1', { unprivileged: true }),
    build('other', 'o-1'),
    build('other', 'o-2'),
  ];
  // Fair order: other/field-1, team-a/a-1, other/o-1, team-a/a-2, other/o-2, team-a/a-3. The
  // host agent has room throughout: only the policy keeps builds off it.
  const got = placed(builds, [agent('dind', 'userns'), agent('host', 'host-root')], teamA);
  t.like(got, { 'other/field-1': 'dind', 'team-a/a-1': 'dind', 'other/o-1': 'host', 'other/o-2': 'host' });
  t.regex(
    got['team-a/a-2']!,
    /^WaitingForCapacity: all 1 agent\(s\) that match the build \(no nodeSelector\) are full/,
  );
  t.regex(got['team-a/a-3']!, /^WaitingForCapacity: /);
});

test('with no userns agent: NoMatchingAgent saying which policy asks and what each agent is instead', (t) => {
  const agents = [agent('x', 'host-root'), agent('y', 'privileged-root'), agent('z', 'unknown')];
  const got = placed(
    [build('team-a', 'a-1'), build('other', 'f-1', { unprivileged: true }), build('other', 'o-1')],
    agents,
    teamA,
  );
  t.is(
    got['team-a/a-1'],
    "NoMatchingAgent: namespace team-a requires unprivileged builds; no agent that matches the build (no nodeSelector) runs builds in a user namespace (x: root on the node (the node's shared daemon), y: root on the node (a privileged private daemon, not remapped), z: did not say (an older agent))",
  );
  t.regex(
    got['other/f-1']!,
    /^NoMatchingAgent: config other\/app requires unprivileged builds \(spec\.security\.unprivileged\); no agent that matches/,
  );
  t.true(['x', 'y', 'z'].includes(got['other/o-1']!));
});

test('the selector is applied first: a userns agent on another node does not count; its absence is said as before', (t) => {
  const agents = [agent('u', 'userns', { disk: 'hdd' }), agent('h', 'host-root', { disk: 'ssd' })];
  const got = placed([build('team-a', 'a-1', { nodeSelector: { disk: 'ssd' } })], agents, teamA);
  t.regex(
    got['team-a/a-1']!,
    /^NoMatchingAgent: namespace team-a requires unprivileged builds; no agent that matches nodeSelector disk=ssd runs builds in a user namespace \(h: root on the node/,
  );
  const none = placed([build('team-a', 'a-2', { nodeSelector: { gpu: 'true' } })], agents, teamA);
  t.regex(none['team-a/a-2']!, /^NoMatchingAgent: no agent's node matches nodeSelector gpu=true/);
});

test('the policy is part of a build shape: the same config in a policy namespace and out of it are grouped apart', (t) => {
  const inA = build('team-a', 'a-1');
  const inB = build('team-b', 'b-1');
  t.not(shapeKey(inA, teamA), shapeKey(inB, teamA));
  t.is(shapeKey(inA), shapeKey(inB), 'without the namespace policy they are one shape');
  const index = new PlacementIndex(teamA);
  index.held('a', { value: inA, revision: 1 });
  index.held('b', { value: inB, revision: 1 });
  t.deepEqual(
    [...index.waitingGroups.values()].map((g) => g.shape.endsWith('requires unprivileged builds')),
    [true, false],
  );
});

test('UnprivilegedPolicy: the namespace is named first; a config field false asks nothing', (t) => {
  t.is(teamA.required(build('team-a', 'x', { unprivileged: true })), 'namespace team-a requires unprivileged builds');
  t.is(teamA.required(build('b', 'x', { unprivileged: false })), undefined);
  t.is(new UnprivilegedPolicy().required(build('team-a', 'x')), undefined);
});

test('spec.security.unprivileged: a boolean, nothing else in security; false is as if not set', (t) => {
  const spec = (security: unknown) => ({
    source: { git: { uri: 'https://example.com/r.git' } },
    strategy: { docker: {} },
    output: { image: 'registry.example/a:v1' },
    security,
  });
  t.deepEqual(validateBuildConfigSpec(spec({ unprivileged: true })).security, { unprivileged: true });
  const fields = (security: unknown) =>
    (t.throws(() => validateBuildConfigSpec(spec(security))) as InvalidInputError).fields.map(
      (f) => `${f.field}: ${f.message}`,
    );
  t.deepEqual(fields({ unprivileged: 'yes' }), ['spec.security.unprivileged: must be boolean']);
  t.deepEqual(fields({ rootless: true }), ['spec.security.rootless: unknown field']);
});

test('SLIPWAY_UNPRIVILEGED_NAMESPACES: a comma list of namespace names, a bad one named', (t) => {
  t.deepEqual(coordinatorConfigFromEnv({ SLIPWAY_UNPRIVILEGED_NAMESPACES: 'team-a, team-b' }), {
    unprivilegedNamespaces: ['team-a', 'team-b'],
  });
  const err = t.throws(
    () => resolveCoordinatorConfig(coordinatorConfigFromEnv({ SLIPWAY_UNPRIVILEGED_NAMESPACES: 'team-a,Team_B' })),
    { instanceOf: InvalidInputError },
  );
  t.deepEqual(
    err!.fields.map((f) => `${f.field}: ${f.message}`),
    ['SLIPWAY_UNPRIVILEGED_NAMESPACES: "Team_B" is not a namespace name'],
  );
});

test("the agent's claimed build says why it must be unprivileged: the claim's answer, else its config's own field", (t) => {
  // Through the wire, with proto3's defaults filled in, as the agent receives it.
  const method = slipwayProto().slipway.v1.AgentService.service.ClaimBuild;
  const answer = (b: Build, unprivilegedRequired: string): ClaimBuildResponse__Output =>
    method.responseDeserialize(
      method.responseSerialize({ build: buildToProto({ value: b, revision: 1 }), unprivilegedRequired }),
    );
  const ref = { namespace: 'team-a', name: 'a-1', attempt: 1 };
  const policy = 'namespace team-a requires unprivileged builds';
  t.is(claimedBuildFrom(answer(build('team-a', 'a-1'), policy), ref).unprivilegedRequired, policy);
  t.is(claimedBuildFrom(answer(build('team-a', 'a-1'), ''), ref).unprivilegedRequired, undefined);
  t.is(
    claimedBuildFrom(answer(build('team-a', 'a-1', { unprivileged: true }), ''), ref).unprivilegedRequired,
    'config team-a/app requires unprivileged builds (spec.security.unprivileged)',
  );
});

test('isolation: what a heartbeat says, anything else unknown; describe shows the field', (t) => {
  t.is(isolationOf('userns'), 'userns');
  t.is(isolationOf('host-root'), 'host-root');
  t.is(isolationOf(''), 'unknown');
  t.is(isolationOf('rootless'), 'unknown');
  const get = slipwayProto().slipway.v1.BuildService.service.GetBuild;
  const b = get.responseDeserialize(
    get.responseSerialize(buildToProto({ value: build('team-a', 'a-1', { unprivileged: true }), revision: 1 })),
  );
  t.regex(describeBuild(b), /^Security: +unprivileged \(runs only in a user namespace\)$/m);
});
