import test from 'ava';
import { BuildAlreadyTerminalError, NodeSelectorMismatchError, StaleAttemptError } from '../common/errors.js';
import type { Build } from '../coordinator/api/types.js';
import { assignAttempt, claim, finish, markQueued } from '../coordinator/builds/transitions.js';

const now = new Date('2026-01-01T00:00:00Z');
const newBuild = (): Build => ({
  metadata: { name: 'app-1', namespace: 'default', uid: 'u', creationTimestamp: now.toISOString(), generation: 1, labels: { 'slipway.dev/buildconfig': 'app' } },
  spec: { configName: 'app', configGeneration: 1, config: { source: { git: { uri: 'git://h/r' } }, strategy: { docker: {} }, output: { image: 'r/a:v' } } },
  status: { phase: 'New', attempt: 0 },
});
const claimed = () => claim(markQueued(assignAttempt(newBuild())!, 1, now)!, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7' }, now)!;

test('New becomes Pending with attempt 1; repeating the step changes nothing', (t) => {
  const pending = assignAttempt(newBuild())!;
  t.is(pending.status.phase, 'Pending');
  t.is(pending.status.attempt, 1);
  t.is(assignAttempt(pending), undefined);
  const queued = markQueued(pending, 1, now)!;
  t.is(queued.status.queuedTimestamp, now.toISOString());
  t.is(markQueued(queued, 1, now), undefined);
});

test('a claim makes the build Running on that agent; the same claim again is a no-op', (t) => {
  const running = claimed();
  t.is(running.status.phase, 'Running');
  t.is(running.status.agent, 'a');
  t.is(claim(running, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7' }, now), undefined);
});

test('a second delivery, another agent or a restarted agent cannot claim a claimed attempt', (t) => {
  const running = claimed();
  t.throws(() => claim(running, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/8' }, now), { instanceOf: StaleAttemptError });
  t.throws(() => claim(running, { attempt: 1, agent: 'b', node: 'm', claimId: 'b/2/7' }, now), { instanceOf: StaleAttemptError });
  t.throws(() => claim(running, { attempt: 2, agent: 'a', node: 'n', claimId: 'a/1/7' }, now), { instanceOf: StaleAttemptError });
});

test('only the owning agent and attempt can finish a build, and only once', (t) => {
  const running = claimed();
  const outcome = { attempt: 1, agent: 'a', phase: 'Complete' as const, output: { image: 'r/a:v', digest: 'sha256:' + '0'.repeat(64) }, logLines: 12 };
  t.throws(() => finish(running, { ...outcome, agent: 'b' }, now), { instanceOf: StaleAttemptError });
  t.throws(() => finish(running, { ...outcome, attempt: 2 }, now), { instanceOf: StaleAttemptError });
  const done = finish(running, outcome, now)!;
  t.is(done.status.phase, 'Complete');
  t.is(done.status.completionTimestamp, now.toISOString());
  t.throws(() => finish(done, { ...outcome, phase: 'Failed', reason: 'X' }, now), { instanceOf: BuildAlreadyTerminalError });
  t.throws(() => finish(done, { ...outcome, output: { image: 'r/a:v', digest: 'sha256:' + '1'.repeat(64) } }, now), { instanceOf: BuildAlreadyTerminalError });
  t.throws(() => finish(done, { ...outcome, logLines: 13 }, now), { instanceOf: BuildAlreadyTerminalError });
  t.throws(() => finish(done, { ...outcome, agent: 'b' }, now), { instanceOf: BuildAlreadyTerminalError });
  t.throws(() => finish(done, { ...outcome, attempt: 2 }, now), { instanceOf: StaleAttemptError });
});

test('the report that ended a build, repeated (its write landed, its answer was lost), changes nothing and is answered', (t) => {
  const later = new Date(now.getTime() + 60_000);
  const complete = { attempt: 1, agent: 'a', phase: 'Complete' as const, output: { image: 'r/a:v', digest: 'sha256:' + '0'.repeat(64) }, commit: 'c0ffee', logLines: 3 };
  const done = finish(claimed(), complete, now)!;
  t.is(finish(done, complete, later), undefined);
  t.is(done.status.completionTimestamp, now.toISOString());

  const failure = { attempt: 1, agent: 'a', phase: 'Failed' as const, reason: 'BuildStepFailed', message: 'step 2 exited 1', exitCode: 1, logLines: 9 };
  const failed = finish(claimed(), failure, now)!;
  t.is(failed.status.phase, 'Failed');
  t.is(finish(failed, failure, later), undefined);
  t.throws(() => finish(failed, { ...failure, exitCode: 2 }, later), { instanceOf: BuildAlreadyTerminalError });
  t.throws(() => finish(failed, { ...failure, message: 'other' }, later), { instanceOf: BuildAlreadyTerminalError });
});

test('a build that is not Running cannot be finished', (t) => {
  const pending = assignAttempt(newBuild())!;
  t.throws(() => finish(pending, { attempt: 1, agent: 'a', phase: 'Failed', reason: 'X' }, now), { instanceOf: StaleAttemptError });
});

test('a claim from a node without the labels the build selects is refused and changes nothing', (t) => {
  const selecting = newBuild();
  selecting.spec.config.nodeSelector = { disk: 'ssd', 'topology.kubernetes.io/zone': 'a' };
  const queued = markQueued(assignAttempt(selecting)!, 1, now)!;
  t.is(queued.status.message, 'waiting for an agent on a node labelled disk=ssd,topology.kubernetes.io/zone=a');
  const err = t.throws(() => claim(queued, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7', nodeLabels: { disk: 'ssd' } }, now), {
    instanceOf: NodeSelectorMismatchError,
  });
  t.deepEqual(err?.unmatched, ['topology.kubernetes.io/zone=a']);
  t.throws(() => claim(queued, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7' }, now), { instanceOf: NodeSelectorMismatchError });
  t.is(queued.status.phase, 'Pending');
  const running = claim(queued, { attempt: 1, agent: 'b', node: 'm', claimId: 'b/1/8', nodeLabels: { disk: 'ssd', 'topology.kubernetes.io/zone': 'a', x: 'y' } }, now)!;
  t.is(running.status.phase, 'Running');
  t.is(running.status.node, 'm');
  t.is(running.status.message, undefined);
});
