import test from 'ava';
import type { Teardowns } from './helpers/teardowns.js';
import * as grpc from '@grpc/grpc-js';
import { slipwayProto } from '../common/grpc/proto.js';
import { reasonOf } from '../common/grpc/status.js';
import type { AgentServiceClient } from '../proto/generated/slipway/v1/AgentService.js';
import { startSlipway } from './helpers/slipway.js';

interface Answer {
  status?: { phase: string; agent?: string };
  metadata?: { resourceVersion?: string };
  build?: { status?: { phase: string } };
  stop?: { build: { name: string; attempt: number }; why: string }[];
}
type CallWithOptions = (
  req: object,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Answer) => void,
) => void;
const ask = (
  client: AgentServiceClient,
  method: 'ClaimBuild' | 'CompleteBuild' | 'FailBuild' | 'Heartbeat',
  req: object,
) =>
  new Promise<Answer>((resolve, reject) =>
    // A deadline: a coordinator that never answers fails the test, naming the call, instead of stalling the run.
    (client[method] as unknown as CallWithOptions).call(client, req, { deadline: Date.now() + 30_000 }, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );

test('the coordinator applies reports only from the agent and attempt that own the build', async (t) => {
  const { slipway, agents } = await queuedBuildWithoutAgents(t);

  const build = { namespace: 'default', name: 'app-1', attempt: 1 };
  const refused = async (p: Promise<unknown>, reason: string, what: string) => {
    const err = await t.throwsAsync<grpc.ServiceError>(p, undefined, what);
    t.is(err?.code, grpc.status.FAILED_PRECONDITION, what);
    t.is(reasonOf(err), reason, what);
  };

  // Agent "a", run "r1", heartbeated as a real agent does before it claims anything (queuedBuildWithoutAgents).
  const beat = (running: object[] = [build]) =>
    ask(agents, 'Heartbeat', { agent: 'a', node: 'n', instance: 'r1', running });
  await refused(
    ask(agents, 'ClaimBuild', { build: { ...build, attempt: 2 }, agent: 'a', node: 'n', claimId: 'a/r1/1' }),
    'StaleAttempt',
    'claim of a future attempt',
  );
  const claimed = await ask(agents, 'ClaimBuild', { build, agent: 'a', node: 'n', claimId: 'a/r1/1' });
  t.is(claimed.build!.status!.phase, 'Running');
  t.deepEqual((await beat()).stop, []);
  // Its answer lost, agent a asks again with the same claim id: accepted, nothing changes.
  t.is(
    (await ask(agents, 'ClaimBuild', { build, agent: 'a', node: 'n', claimId: 'a/r1/1' })).build!.status!.phase,
    'Running',
  );
  await refused(
    ask(agents, 'ClaimBuild', { build, agent: 'a', node: 'n', claimId: 'a/r1/2' }),
    'StaleAttempt',
    'a second delivery of the job',
  );
  await refused(
    ask(agents, 'ClaimBuild', { build, agent: 'b', node: 'm', claimId: 'b/r9/1' }),
    'StaleAttempt',
    'another agent',
  );
  // Agent b, claiming to run the attempt, is told to stop it: it is not b's.
  const other = await ask(agents, 'Heartbeat', { agent: 'b', node: 'm', instance: 'r9', running: [build] });
  t.deepEqual(
    other.stop?.map((o) => o.why),
    ['Lost'],
  );

  const output = { image: '127.0.0.1:9/app:v1', digest: 'sha256:' + 'b'.repeat(64) };
  await refused(
    ask(agents, 'CompleteBuild', { build, agent: 'b', output }),
    'StaleAttempt',
    'completion from another agent',
  );
  await refused(
    ask(agents, 'FailBuild', {
      build: { ...build, attempt: 0 + 2 },
      agent: 'a',
      phase: 'Failed',
      reason: 'X',
      exitCode: -1,
    }),
    'StaleAttempt',
    'failure of another attempt',
  );
  t.is((await slipway.client.getBuild('default', 'app-1')).status!.phase, 'Running');

  const completed = await ask(agents, 'CompleteBuild', { build, agent: 'a', output });
  t.is(completed.status!.phase, 'Complete');
  // Its answer lost (or its write landed after a timeout), agent a reports again: answered with
  // the build as it is, nothing changes.
  const repeated = await ask(agents, 'CompleteBuild', { build, agent: 'a', output });
  t.is(repeated.status!.phase, 'Complete');
  t.is(repeated.metadata!.resourceVersion, completed.metadata!.resourceVersion);
  await refused(
    ask(agents, 'CompleteBuild', { build, agent: 'a', output: { ...output, digest: 'sha256:' + 'c'.repeat(64) } }),
    'BuildAlreadyTerminal',
    'another completion',
  );
  await refused(
    ask(agents, 'FailBuild', { build, agent: 'a', phase: 'Failed', reason: 'Late', exitCode: 1 }),
    'BuildAlreadyTerminal',
    'a late failure',
  );

  const final = await slipway.client.getBuild('default', 'app-1');
  t.is(final.status!.phase, 'Complete');
  t.is(final.status!.output!.digest, output.digest);
  t.is(final.status!.reason, '');
});

test('malformed reports are refused with the fields named', async (t) => {
  const slipway = await startSlipway(t, { agents: 0 });
  const agents = new (slipwayProto().slipway.v1.AgentService)(
    slipway.coordinators[0]!.address,
    grpc.credentials.createInsecure(),
  );
  t.teardown(() => agents.close());
  const err = await t.throwsAsync<grpc.ServiceError>(
    ask(agents, 'CompleteBuild', {
      build: { namespace: 'default', name: 'x' },
      agent: '',
      output: { image: 'x', digest: 'md5:1' },
    }),
  );
  t.is(err?.code, grpc.status.INVALID_ARGUMENT);
  for (const field of ['build.attempt', 'agent', 'output.digest']) t.true(err!.details.includes(field), field);
});

test('a report whose stages or log snippet are wrong is refused naming each field, and changes nothing', async (t) => {
  const { slipway, agents } = await queuedBuildWithoutAgents(t);
  const build = { namespace: 'default', name: 'app-1', attempt: 1 };
  await ask(agents, 'ClaimBuild', { build, agent: 'a', node: 'n', claimId: 'a/r1/1' });
  const at = new Date().toISOString();

  const bad = {
    build,
    agent: 'a',
    phase: 'Failed',
    reason: 'BuildStepFailed',
    exitCode: 1,
    stages: [
      { name: 'Compile', startTimestamp: at, durationMs: 1 },
      { name: 'Build', startTimestamp: 'yesterday', durationMs: -5 },
      { name: 'FetchInputs', startTimestamp: at, durationMs: 1 },
    ],
    logSnippet: 'x'.repeat(5000),
  };
  const err = await t.throwsAsync<grpc.ServiceError>(ask(agents, 'FailBuild', bad));
  t.is(err?.code, grpc.status.INVALID_ARGUMENT);
  for (const field of [
    'stages[0].name',
    'stages[1].startTimestamp',
    'stages[1].durationMs',
    'stages[2].name',
    'logSnippet',
  ])
    t.true(err!.details.includes(field), `${field}: ${err!.details}`);
  const five = {
    ...bad,
    stages: Array.from({ length: 5 }, () => ({ name: 'Build', startTimestamp: at, durationMs: 1 })),
    logSnippet: '',
  };
  t.regex((await t.throwsAsync<grpc.ServiceError>(ask(agents, 'FailBuild', five)))!.details, /stages.*at most 4/);
  const unchanged = await slipway.client.getBuild('default', 'app-1');
  t.is(unchanged.status!.phase, 'Running');
  t.deepEqual(unchanged.status!.stages, []);

  // The same report, put right, is taken whole.
  const stages = [
    { name: 'FetchInputs', startTimestamp: at, durationMs: 10 },
    { name: 'PullImages', startTimestamp: at, durationMs: 0 },
    { name: 'Build', startTimestamp: at, durationMs: 20 },
  ];
  const failed = await ask(agents, 'FailBuild', { ...bad, stages, logSnippet: 'the end\nof the log' });
  t.is(failed.status!.phase, 'Failed');
  const stored = await slipway.client.getBuild('default', 'app-1');
  t.deepEqual(stored.status!.stages, stages);
  t.is(stored.status!.logSnippet, 'the end\nof the log');
  t.is(stored.status!.events.at(-1)!.reason, 'Failed');
});

/**
 * A coordinator with no agents but the one the test plays itself, agent "a" (run "r1"), over the
 * real gRPC API and NATS: it heartbeats, and build app-1's attempt 1 is placed on it.
 */
async function queuedBuildWithoutAgents(t: Teardowns) {
  const slipway = await startSlipway(t, { agents: 0 });
  const agents = new (slipwayProto().slipway.v1.AgentService)(
    slipway.coordinators[0]!.address,
    grpc.credentials.createInsecure(),
  );
  t.teardown(() => agents.close());
  await slipway.client.createBuildConfig({
    metadata: { name: 'app' },
    spec: {
      source: { git: { uri: 'git://127.0.0.1:9/app' } },
      strategy: { docker: {} },
      output: { image: '127.0.0.1:9/app:v1' },
    },
  });
  await slipway.client.startBuild({ namespace: 'default', configName: 'app' });
  await ask(agents, 'Heartbeat', { agent: 'a', node: 'n', instance: 'r1', running: [] });
  for await (const b of slipway.client.watchBuild('default', 'app-1')) if (b.status!.placedAgent === 'a') break;
  return { slipway, agents };
}
