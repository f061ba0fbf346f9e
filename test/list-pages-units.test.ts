import test from 'ava';
import { InvalidPageTokenError } from '../common/errors.js';
import { compareKeys, keyOf, sortKey } from '../coordinator/store/key-order.js';
import { decodePageToken, encodePageToken } from '../coordinator/store/page-token.js';

test('keys sort by namespace, then name, numbers by value', (t) => {
  const keys = [
    'default.app-10',
    'default.app-2',
    'a-b.x-1',
    'default.app',
    'a.x-1',
    'default.app-1-3',
    'default.app-1',
    'default.app-02',
  ];
  t.deepEqual([...keys].sort(compareKeys), [
    'a.x-1',
    'a-b.x-1',
    'default.app',
    'default.app-1',
    'default.app-1-3',
    'default.app-02',
    'default.app-2',
    'default.app-10',
  ]);
  t.deepEqual(
    keys.map(sortKey).sort().map(keyOf),
    [...keys].sort(compareKeys),
    'sort keys in plain order give the same order',
  );
  t.is(compareKeys('default.app-2', 'default.app-2'), 0);
  t.not(compareKeys('default.app-02', 'default.app-2'), 0, 'equal numbers written differently are different keys');
});

test('a page token holds its cursor and is refused by another listing', (t) => {
  const cursor = { kind: 'Build', scope: 'default.*?phase=', after: 'default.app-7', revision: 42 };
  const token = encodePageToken(cursor);
  t.deepEqual(decodePageToken(token, { kind: 'Build', scope: 'default.*?phase=' }, 'pageToken'), cursor);
  const other = t.throws(() => decodePageToken(token, { kind: 'BuildConfig', scope: 'default.*?phase=' }, 'continue'), {
    instanceOf: InvalidPageTokenError,
  });
  t.is(other?.field, 'continue');
  t.is(other?.reason, 'InvalidPageToken');
  t.throws(() => decodePageToken(token, { kind: 'Build', scope: 'other.*?phase=' }, 'pageToken'), {
    message: /pageToken: was given for another listing/,
  });
  for (const bad of ['', 'x', Buffer.from('{"v":1}').toString('base64url'), Buffer.from('[1]').toString('base64url')])
    t.throws(() => decodePageToken(bad, { kind: 'Build', scope: 'default.*?phase=' }, 'pageToken'), {
      instanceOf: InvalidPageTokenError,
      message: /pageToken: is not a page token this server gave/,
    });
});
