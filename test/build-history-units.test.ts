import test from 'ava';
import type { Build, BuildPhase, Versioned } from '../api/types.js';
import { buildsToPrune } from '../coordinator/history/build-history.js';
import { minimalBuild } from './helpers/minimal-build.js';

function ended(n: number, phase: BuildPhase, completedMinute?: number): Versioned<Build> {
  const build = minimalBuild(phase, 1, new Date('2026-01-01T00:00:00.000Z'));
  return {
    revision: n,
    value: {
      ...build,
      metadata: { ...build.metadata, name: `app-${n}`, uid: `u${n}` },
      status: {
        ...build.status,
        ...(completedMinute === undefined
          ? {}
          : { completionTimestamp: `2026-01-01T00:${String(completedMinute).padStart(2, '0')}:00.000Z` }),
      },
    },
  };
}
const names = (bs: Versioned<Build>[]) => bs.map((b) => b.value.metadata.name).sort();

test('the oldest finished builds beyond each limit are pruned, by completion time, not by number', (t) => {
  const builds = [
    ended(1, 'Complete', 1),
    ended(2, 'Complete', 9), // finished last of the Complete ones
    ended(3, 'Complete', 3),
    ended(4, 'Failed', 4),
    ended(5, 'Error', 5),
    ended(6, 'Cancelled', 6),
  ];
  t.deepEqual(names(buildsToPrune(builds, { successful: 2, failed: 1 })), ['app-1', 'app-4', 'app-5']);
  t.deepEqual(names(buildsToPrune(builds, { successful: 0 })), ['app-1', 'app-2', 'app-3']);
  t.deepEqual(names(buildsToPrune(builds, { failed: 0 })), ['app-4', 'app-5', 'app-6']);
  t.deepEqual(buildsToPrune(builds, {}), []);
  t.deepEqual(buildsToPrune(builds, { successful: 5, failed: 5 }), []);
});

test('a build that has not ended is never pruned, even with a limit of 0', (t) => {
  const builds = (['New', 'Pending', 'Running'] as const).map((p, i) => ended(i + 1, p));
  t.deepEqual(buildsToPrune(builds, { successful: 0, failed: 0 }), []);
});

test('equal completion times: the lower build number goes first; no completion time counts as oldest', (t) => {
  const builds = [ended(1, 'Complete', 5), ended(2, 'Complete', 5), ended(3, 'Complete')];
  t.deepEqual(names(buildsToPrune(builds, { successful: 1 })), ['app-1', 'app-3']);
});
