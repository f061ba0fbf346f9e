import test from 'ava';
import { BuildAlreadyTerminalError, NodeSelectorMismatchError, StaleAttemptError } from '../common/errors.js';
import { MAX_BUILD_EVENTS, type Build, type BuildStage } from '../api/types.js';
import {
  assignAttempt,
  buildEvent,
  cancel,
  claim,
  expireDeadline,
  finish,
  loseAttempt,
  markQueued,
  place,
  supersede,
  waitForBuild,
  waitForPlacement,
  withEvent,
} from '../coordinator/builds/transitions.js';
import { minimalBuild } from './helpers/minimal-build.js';

const now = new Date('2026-01-01T00:00:00Z');
const newBuild = (): Build => minimalBuild('New', 0, now);
/** Queued, then placed on `agent` (a on node n, b on node m), as the scheduler does before any claim. */
const placedOn = (b: Build, attempt: number, at: Date, agent = 'a') =>
  place(markQueued(b, attempt, at)!, attempt, { name: agent, node: agent === 'a' ? 'n' : 'm' }, '', at)!;
const claimed = () =>
  claim(placedOn(assignAttempt(newBuild())!, 1, now), { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7' }, now)!;

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
  t.throws(() => claim(running, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/8' }, now), {
    instanceOf: StaleAttemptError,
  });
  t.throws(() => claim(running, { attempt: 1, agent: 'b', node: 'm', claimId: 'b/2/7' }, now), {
    instanceOf: StaleAttemptError,
  });
  t.throws(() => claim(running, { attempt: 2, agent: 'a', node: 'n', claimId: 'a/1/7' }, now), {
    instanceOf: StaleAttemptError,
  });
});

test('only the owning agent and attempt can finish a build, and only once', (t) => {
  const running = claimed();
  const outcome = {
    attempt: 1,
    agent: 'a',
    phase: 'Complete' as const,
    output: { image: 'r/a:v', digest: 'sha256:' + '0'.repeat(64) },
    logLines: 12,
  };
  t.throws(() => finish(running, { ...outcome, agent: 'b' }, now), { instanceOf: StaleAttemptError });
  t.throws(() => finish(running, { ...outcome, attempt: 2 }, now), { instanceOf: StaleAttemptError });
  const done = finish(running, outcome, now)!;
  t.is(done.status.phase, 'Complete');
  t.is(done.status.completionTimestamp, now.toISOString());
  t.throws(() => finish(done, { ...outcome, phase: 'Failed', reason: 'X' }, now), {
    instanceOf: BuildAlreadyTerminalError,
  });
  t.throws(() => finish(done, { ...outcome, output: { image: 'r/a:v', digest: 'sha256:' + '1'.repeat(64) } }, now), {
    instanceOf: BuildAlreadyTerminalError,
  });
  t.throws(() => finish(done, { ...outcome, logLines: 13 }, now), { instanceOf: BuildAlreadyTerminalError });
  t.throws(() => finish(done, { ...outcome, agent: 'b' }, now), { instanceOf: BuildAlreadyTerminalError });
  t.throws(() => finish(done, { ...outcome, attempt: 2 }, now), { instanceOf: StaleAttemptError });
});

test('the report that ended a build, repeated (its write landed, its answer was lost), changes nothing and is answered', (t) => {
  const later = new Date(now.getTime() + 60_000);
  const complete = {
    attempt: 1,
    agent: 'a',
    phase: 'Complete' as const,
    output: { image: 'r/a:v', digest: 'sha256:' + '0'.repeat(64) },
    commit: 'c0ffee',
    logLines: 3,
  };
  const done = finish(claimed(), complete, now)!;
  t.is(finish(done, complete, later), undefined);
  t.is(done.status.completionTimestamp, now.toISOString());

  const failure = {
    attempt: 1,
    agent: 'a',
    phase: 'Failed' as const,
    reason: 'BuildStepFailed',
    message: 'step 2 exited 1',
    exitCode: 1,
    logLines: 9,
  };
  const failed = finish(claimed(), failure, now)!;
  t.is(failed.status.phase, 'Failed');
  t.is(finish(failed, failure, later), undefined);
  t.throws(() => finish(failed, { ...failure, exitCode: 2 }, later), { instanceOf: BuildAlreadyTerminalError });
  t.throws(() => finish(failed, { ...failure, message: 'other' }, later), { instanceOf: BuildAlreadyTerminalError });
});

test('a build that is not Running cannot be finished', (t) => {
  const pending = assignAttempt(newBuild())!;
  t.throws(() => finish(pending, { attempt: 1, agent: 'a', phase: 'Failed', reason: 'X' }, now), {
    instanceOf: StaleAttemptError,
  });
});

test('a claim from a node without the labels the build selects is refused and changes nothing', (t) => {
  const selecting = newBuild();
  selecting.spec.config.nodeSelector = { disk: 'ssd', 'topology.kubernetes.io/zone': 'a' };
  const queued = placedOn(assignAttempt(selecting)!, 1, now);
  const err = t.throws(
    () => claim(queued, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7', nodeLabels: { disk: 'ssd' } }, now),
    {
      instanceOf: NodeSelectorMismatchError,
    },
  );
  t.deepEqual(err?.unmatched, ['topology.kubernetes.io/zone=a']);
  t.throws(() => claim(queued, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7' }, now), {
    instanceOf: NodeSelectorMismatchError,
  });
  t.is(queued.status.phase, 'Pending');
  const running = claim(
    placedOn(assignAttempt(selecting)!, 1, now, 'b'),
    {
      attempt: 1,
      agent: 'b',
      node: 'm',
      claimId: 'b/1/8',
      nodeLabels: { disk: 'ssd', 'topology.kubernetes.io/zone': 'a', x: 'y' },
    },
    now,
  )!;
  t.is(running.status.phase, 'Running');
  t.is(running.status.node, 'm');
  t.is(running.status.message, undefined);
});

const later = (s: number) => new Date(now.getTime() + s * 1000);
const reasons = (b: Build) => (b.status.events ?? []).map((e) => `${e.type}/${e.reason}`);
const stages: BuildStage[] = [
  { name: 'FetchInputs', startTimestamp: later(1).toISOString(), durationMs: 300 },
  { name: 'PullImages', startTimestamp: later(1.3).toISOString(), durationMs: 200 },
  { name: 'Build', startTimestamp: later(1.5).toISOString(), durationMs: 4000 },
  { name: 'PushImage', startTimestamp: later(5.5).toISOString(), durationMs: 500 },
];

test('a build that completes tells its story: Queued, Placed, Scheduled, Started, Pushed (at the push end), Complete', (t) => {
  const running = claimed();
  t.deepEqual(reasons(running), ['Normal/Queued', 'Normal/Placed', 'Normal/Scheduled']);
  t.regex(running.status.events![2]!.message, /agent a on node n/);
  const digest = 'sha256:' + '1'.repeat(64);
  const done = finish(
    running,
    { attempt: 1, agent: 'a', phase: 'Complete', output: { image: 'r/a:v', digest }, stages },
    later(7),
  )!;
  t.deepEqual(reasons(done), [
    'Normal/Queued',
    'Normal/Placed',
    'Normal/Scheduled',
    'Normal/Started',
    'Normal/Pushed',
    'Normal/Complete',
  ]);
  const [, , , started, pushed, complete] = done.status.events!;
  t.is(started!.timestamp, stages[0]!.startTimestamp);
  t.is(pushed!.timestamp, later(6).toISOString());
  t.is(pushed!.message, `pushed r/a:v@${digest}`);
  t.is(complete!.timestamp, later(7).toISOString());
  t.regex(complete!.message, /longest: Build 4\.0s/);
  t.deepEqual(done.status.stages, stages);
  t.is(done.status.logSnippet, undefined);
});

test('a failed build keeps its stages and snippet, with a Warning naming the reason', (t) => {
  const failed = finish(
    claimed(),
    {
      attempt: 1,
      agent: 'a',
      phase: 'Failed',
      reason: 'BuildStepFailed',
      message: 'exit 3',
      stages: stages.slice(0, 3),
      logSnippet: 'step 2\nboom',
    },
    later(6),
  )!;
  t.deepEqual(reasons(failed), [
    'Normal/Queued',
    'Normal/Placed',
    'Normal/Scheduled',
    'Normal/Started',
    'Warning/Failed',
  ]);
  t.is(failed.status.events!.at(-1)!.message, 'BuildStepFailed: exit 3');
  t.is(failed.status.logSnippet, 'step 2\nboom');
  t.is(failed.status.stages!.length, 3);
  const error = finish(
    claimed(),
    { attempt: 1, agent: 'a', phase: 'Error', reason: 'ExecutorUnavailable', message: 'daemon died' },
    later(6),
  )!;
  t.deepEqual(reasons(error).slice(3), ['Warning/Error'], 'no stages reported: no Started');
  const late = finish(
    claimed(),
    { attempt: 1, agent: 'a', phase: 'Failed', reason: 'DeadlineExceeded', message: 'stopped' },
    later(6),
  )!;
  t.is(reasons(late).at(-1), 'Warning/DeadlineExceeded');
});

test('cancel: before it runs Cancelled at once; while running CancelRequested, then Cancelled from its agent', (t) => {
  const pending = markQueued(assignAttempt(newBuild())!, 1, now)!;
  t.deepEqual(reasons(cancel(pending, later(1))!), ['Normal/Queued', 'Normal/Cancelled']);
  const asked = cancel(claimed(), later(1))!;
  t.is(reasons(asked).at(-1), 'Normal/CancelRequested');
  t.is(cancel(asked, later(2)), undefined, 'asking twice adds nothing');
  const stopped = finish(asked, { attempt: 1, agent: 'a', phase: 'Cancelled', reason: 'Cancelled' }, later(3))!;
  t.is(reasons(stopped).at(-1), 'Normal/Cancelled');
});

test('a lost attempt: AttemptLost and Retrying while retries last, the events of attempt 1 kept; then Error', (t) => {
  const retrying = newBuild();
  retrying.spec.config.retries = 1;
  const first = claim(
    placedOn(assignAttempt(retrying)!, 1, now),
    { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7' },
    now,
  )!;
  const again = loseAttempt(first, 'AgentLost', 'no heartbeat for 10s', later(10));
  t.is(again.status.phase, 'Pending');
  t.deepEqual(reasons(again), [
    'Normal/Queued',
    'Normal/Placed',
    'Normal/Scheduled',
    'Warning/AttemptLost',
    'Normal/Retrying',
  ]);
  t.regex(again.status.events![3]!.message, /attempt 1 on agent a lost \(AgentLost\)/);
  const second = claim(
    placedOn(again, 2, later(11), 'b'),
    { attempt: 2, agent: 'b', node: 'm', claimId: 'b/1/9' },
    later(12),
  )!;
  t.deepEqual(reasons(second).slice(5), ['Normal/Queued', 'Normal/Placed', 'Normal/Scheduled']);
  const gone = loseAttempt(second, 'AgentLost', 'no heartbeat', later(20));
  t.is(gone.status.phase, 'Error');
  t.deepEqual(reasons(gone).slice(8), ['Warning/AttemptLost', 'Warning/Error']);
});

test('a handed-back attempt stays visible in previousAttempt while placement says why the next one waits, and after', (t) => {
  const retrying = newBuild();
  retrying.spec.config.retries = 2;
  const first = claim(
    placedOn(assignAttempt(retrying)!, 1, now),
    { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7' },
    now,
  )!;
  const report = { attempt: 1, agent: 'a', phase: 'Error', reason: 'AgentShutdown', message: 'shut down' } as const;
  const handedBack = finish(first, report, later(5))!;
  const previous = {
    attempt: 1,
    reason: 'AgentShutdown',
    message: 'shut down',
    agent: 'a',
    node: 'n',
    completionTimestamp: later(5).toISOString(),
  };
  t.like(handedBack.status, { phase: 'Pending', attempt: 2, reason: 'AgentShutdown', previousAttempt: previous });
  const waiting = waitForPlacement(
    markQueued(handedBack, 2, later(6))!,
    2,
    'NoMatchingAgent',
    'no live agent',
    later(7),
  )!;
  t.like(waiting.status, { reason: 'NoMatchingAgent', message: 'no live agent', previousAttempt: previous });
  // The hand-back reported again (its answer was lost) is answered with the build as it is.
  t.is(finish(waiting, report, later(8)), undefined);
  t.throws(() => finish(waiting, { ...report, message: 'another' }, later(8)), { instanceOf: StaleAttemptError });
  t.throws(() => finish(waiting, { ...report, agent: 'b' }, later(8)), { instanceOf: StaleAttemptError });
  const running = claim(
    place(waiting, 2, { name: 'b', node: 'm' }, '', later(9))!,
    { attempt: 2, agent: 'b', node: 'm', claimId: 'b/1/9' },
    later(10),
  )!;
  t.like(running.status, { phase: 'Running', reason: undefined, previousAttempt: previous });
  const done = finish(
    running,
    { attempt: 2, agent: 'b', phase: 'Complete', output: { image: 'r/a:v', digest: 'sha256:1' } },
    later(11),
  )!;
  t.like(done.status, { phase: 'Complete', previousAttempt: previous });
  // A later loss replaces it with that attempt's.
  const third = loseAttempt(running, 'AgentLost', 'no heartbeat', later(12));
  t.like(third.status.previousAttempt, { attempt: 2, reason: 'AgentLost', agent: 'b', node: 'm' });
});

test('a deadline the agent missed ends in DeadlineExceeded, said as a Warning', (t) => {
  const running = claimed();
  running.spec.config.completionDeadlineSeconds = 5;
  const expired = expireDeadline(running, later(40));
  t.is(expired.status.phase, 'Failed');
  t.is(reasons(expired).at(-1), 'Warning/DeadlineExceeded');
});

test(`events keep the newest ${MAX_BUILD_EVENTS}, dropping the oldest, and clip long messages`, (t) => {
  let b = newBuild();
  for (let i = 0; i < MAX_BUILD_EVENTS + 5; i++) b = withEvent(b, buildEvent('Normal', 'Tick', `tick ${i}`, later(i)));
  t.is(b.status.events!.length, MAX_BUILD_EVENTS);
  t.is(b.status.events![0]!.message, 'tick 5');
  t.is(b.status.events!.at(-1)!.message, `tick ${MAX_BUILD_EVENTS + 4}`);
  t.true(buildEvent('Warning', 'Failed', 'x'.repeat(100_000), now).message.length <= 1024);
});

test('a transition that changes nothing adds no event', (t) => {
  const queued = markQueued(assignAttempt(newBuild())!, 1, now)!;
  t.is(markQueued(queued, 1, later(1)), undefined);
  const running = claimed();
  t.is(claim(running, { attempt: 1, agent: 'a', node: 'n', claimId: 'a/1/7' }, later(1)), undefined);
});

test('the run policy says so in events: WaitingForPreviousBuild when held back, Superseded when replaced', (t) => {
  const held = waitForBuild(newBuild(), 'app-0', later(1))!;
  t.deepEqual(reasons(held), ['Normal/WaitingForPreviousBuild']);
  t.is(waitForBuild(held, 'app-0', later(2)), undefined, 'no event when nothing changed');
  const replaced = supersede(held, 'app-2', later(3))!;
  t.is(replaced.status.phase, 'Cancelled');
  t.deepEqual(reasons(replaced), ['Normal/WaitingForPreviousBuild', 'Normal/Superseded']);
  t.regex(replaced.status.events!.at(-1)!.message, /superseded by newer build app-2/);
});
