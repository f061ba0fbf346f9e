import test from 'ava';
import { atLeast, parseServerVersion, stateStoreWarnings } from '../common/nats/server-version.js';

test('server versions are read as major.minor.patch, with or without a v and a suffix', (t) => {
  t.deepEqual(parseServerVersion('2.9.10'), [2, 9, 10]);
  t.deepEqual(parseServerVersion('v2.10.23-RC.1'), [2, 10, 23]);
  t.is(parseServerVersion('nightly'), undefined);
  t.is(parseServerVersion(undefined), undefined);
});

test('atLeast compares numerically, not as text', (t) => {
  t.true(atLeast('2.10.0', '2.9.10'));
  t.false(atLeast('2.9.10', '2.10.0'));
  t.true(atLeast('2.10.23', '2.10.23'));
  t.false(atLeast('2.10.22', '2.10.23'));
  t.true(atLeast('3.0.0', '2.10.23'));
  t.false(atLeast(undefined, '2.10.0'), 'an unreadable version is not taken to be new enough');
});

test('replicated state on a server without serializable compare-and-set is warned about, naming the server issue and the release to run', (t) => {
  const [warning, ...rest] = stateStoreWarnings('2.9.10', 3);
  t.deepEqual(rest, []);
  t.regex(warning!, /nats-server 2\.9\.10 does not serialize compare-and-sets/);
  t.regex(warning!, /nats-server#4320/);
  t.regex(warning!, /run nats-server 2\.10\.23 or later/);
  t.regex(stateStoreWarnings(undefined, 3)[0]!, /version unknown/);
});

test('one replica is not warned about on any server; a fixed but older-than-production server gets the production note', (t) => {
  t.deepEqual(stateStoreWarnings('2.9.10', 1), []);
  t.regex(stateStoreWarnings('2.10.7', 3)[0]!, /older than 2\.10\.23, which production needs/);
  t.deepEqual(stateStoreWarnings('2.10.23', 3), []);
  t.deepEqual(stateStoreWarnings('2.12.1', 5), []);
});
