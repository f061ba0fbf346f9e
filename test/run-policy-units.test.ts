import test from 'ava';
import type { Build, BuildPhase, RunPolicy } from '../api/types.js';
import { buildNumber, decideRun } from '../coordinator/build-controller/run-policy.js';
import {
  SUPERSEDED_REASON,
  WAITING_REASON,
  assignAttempt,
  supersede,
  waitForBuild,
} from '../coordinator/builds/transitions.js';

const now = new Date('2026-01-01T00:00:00Z');

function build(n: number, phase: BuildPhase = 'New', runPolicy?: RunPolicy, config = 'app'): Build {
  return {
    metadata: {
      name: `${config}-${n}`,
      namespace: 'default',
      uid: `u${n}`,
      creationTimestamp: now.toISOString(),
      generation: 1,
      labels: { 'slipway.dev/buildconfig': config },
    },
    spec: {
      configName: config,
      configGeneration: 1,
      config: {
        source: { git: { uri: 'git://h/r' } },
        strategy: { docker: {} },
        output: { image: 'r/a:v' },
        runPolicy,
      },
    },
    status: { phase, attempt: phase === 'New' ? 0 : 1 },
  };
}

test('the build number is the <n> of <config>-<n>, for config names that end in digits too', (t) => {
  t.is(buildNumber(build(12)), 12);
  t.is(buildNumber(build(3, 'New', undefined, 'app-2')), 3);
  const odd = build(1);
  odd.metadata.name = 'other-1';
  t.is(buildNumber(odd), undefined);
  odd.metadata.name = 'app-01';
  t.is(buildNumber(odd), undefined);
});

test('Parallel (and no policy) starts at once, whatever else runs', (t) => {
  for (const policy of [undefined, 'Parallel'] as const) {
    t.deepEqual(decideRun(build(2, 'New', policy), { siblings: [build(1, 'Running', policy)] }), {
      action: 'start',
      supersede: [],
    });
  }
});

test('Serial: a build waits for the nearest older one that has not ended, and starts when all older ones ended', (t) => {
  const s = (n: number, phase: BuildPhase = 'New') => build(n, phase, 'Serial');
  t.deepEqual(decideRun(s(3), { siblings: [s(1, 'Running'), s(2)] }), { action: 'wait', waitingFor: 'app-2' });
  t.deepEqual(decideRun(s(2), { siblings: [s(1, 'Running'), s(3)] }), { action: 'wait', waitingFor: 'app-1' });
  t.deepEqual(decideRun(s(3), { siblings: [s(1, 'Complete'), s(2)] }), { action: 'wait', waitingFor: 'app-2' });
  t.deepEqual(decideRun(s(2), { siblings: [s(1, 'Failed'), s(3)] }), { action: 'start', supersede: [] });
  t.deepEqual(decideRun(s(1), { siblings: [] }), { action: 'start', supersede: [] });
  // Builds of other configs and namespaces are not siblings.
  const other = build(1, 'Running', 'Serial', 'other');
  const elsewhere = s(1, 'Running');
  elsewhere.metadata.namespace = 'team-b';
  t.deepEqual(decideRun(s(2), { siblings: [other, elsewhere] }), { action: 'start', supersede: [] });
});

test('Serial: a started newer build (created out of order, or Parallel before the policy changed) is waited for too', (t) => {
  t.deepEqual(decideRun(build(4, 'New', 'Serial'), { siblings: [build(5, 'Pending', 'Serial')] }), {
    action: 'wait',
    waitingFor: 'app-5',
  });
  t.deepEqual(decideRun(build(4, 'New', 'Serial'), { siblings: [build(5, 'Running')] }), {
    action: 'wait',
    waitingFor: 'app-5',
  });
});

test('SerialLatestOnly: queued builds wait while one runs; then only the newest starts, superseding the older ones', (t) => {
  const l = (n: number, phase: BuildPhase = 'New') => build(n, phase, 'SerialLatestOnly');
  t.deepEqual(decideRun(l(5), { siblings: [l(1, 'Running'), l(2), l(3), l(4)] }), {
    action: 'wait',
    waitingFor: 'app-1',
  });
  t.deepEqual(decideRun(l(2), { siblings: [l(1, 'Running'), l(3)] }), { action: 'wait', waitingFor: 'app-1' });
  t.deepEqual(decideRun(l(2), { siblings: [l(1, 'Complete'), l(3), l(5), l(4)] }), {
    action: 'supersede',
    newer: 'app-5',
  });
  const d = decideRun(l(5), { siblings: [l(1, 'Complete'), l(3), l(2), l(4)] });
  t.is(d.action, 'start');
  t.deepEqual(d.action === 'start' ? d.supersede.map((b) => b.metadata.name) : [], ['app-2', 'app-3', 'app-4']);
});

test('SerialLatestOnly: an older build still New after a newer one started is superseded, never run after it', (t) => {
  const l = (n: number, phase: BuildPhase = 'New') => build(n, phase, 'SerialLatestOnly');
  t.deepEqual(decideRun(l(4), { siblings: [l(5, 'Running')] }), { action: 'wait', waitingFor: 'app-5' });
  t.deepEqual(decideRun(l(4), { siblings: [], newestStarted: { name: 'app-5', number: 5 } }), {
    action: 'supersede',
    newer: 'app-5',
  });
  // A newer build cancelled before it ran leaves the older one the newest queued.
  t.deepEqual(decideRun(l(4), { siblings: [l(5, 'Cancelled')], newestStarted: { name: 'app-3', number: 3 } }), {
    action: 'start',
    supersede: [],
  });
});

test('waitForBuild writes its message only when it changes; assignAttempt clears it', (t) => {
  const waiting = waitForBuild(build(2, 'New', 'Serial'), 'app-1')!;
  t.is(waiting.status.reason, WAITING_REASON);
  t.is(waiting.status.message, 'waiting for build app-1 to finish (run policy Serial)');
  t.is(waitForBuild(waiting, 'app-1'), undefined);
  t.is(waitForBuild(waiting, 'app-0')!.status.message, 'waiting for build app-0 to finish (run policy Serial)');
  t.is(waitForBuild(build(2, 'Pending', 'Serial'), 'app-1'), undefined);
  const started = assignAttempt(waiting)!;
  t.is(started.status.reason, undefined);
  t.is(started.status.message, undefined);
});

test('supersede ends a New build Cancelled, naming the newer build; a started build is left alone', (t) => {
  const done = supersede(build(2, 'New', 'SerialLatestOnly'), 'app-5', now)!;
  t.is(done.status.phase, 'Cancelled');
  t.is(done.status.reason, SUPERSEDED_REASON);
  t.is(done.status.message, 'superseded by newer build app-5 (run policy SerialLatestOnly)');
  t.is(done.status.completionTimestamp, now.toISOString());
  t.is(supersede(build(2, 'Pending', 'SerialLatestOnly'), 'app-5', now), undefined);
  t.is(supersede(done, 'app-5', now), undefined);
});
