import test from 'ava';
import { KubeConfig, type V1SubjectAccessReview } from '@kubernetes/client-node';
import { silentLogger } from '../common/log.js';
import { InvalidInputError } from '../common/errors.js';
import { SubjectAccessReviewAuthorizer } from '../coordinator/auth/subject-access-review.js';
import {
  NAMESPACE_GROUP_PREFIX,
  ROLE_GROUPS,
  TokenAuthenticator,
  UnauthenticatedError,
  bearerToken,
  roleAllows,
  type RequestAttributes,
  type UserInfo,
} from '../coordinator/auth/index.js';

const SETTING = 'SLIPWAY_API_TOKENS_FILE';

test('token file: kube-apiserver format, quoted groups, comments; every user is system:authenticated', (t) => {
  const tokens = TokenAuthenticator.parse(
    '# comment\n\nt1,ada,1,"slipway:admins,team-a"\n t2 , bo ,,\nt3,cy,3\n',
    SETTING,
  );
  t.is(tokens.size, 3);
  t.deepEqual(tokens.authenticate('t1'), {
    username: 'ada',
    uid: '1',
    groups: ['slipway:admins', 'team-a', 'system:authenticated'],
  });
  t.deepEqual(tokens.authenticate('t2'), { username: 'bo', groups: ['system:authenticated'] });
  t.deepEqual(tokens.authenticate('t3').username, 'cy');
  const err = t.throws(() => tokens.authenticate('t4'), { instanceOf: UnauthenticatedError });
  t.false(err?.message.includes('t4'));
});

test('token file: bad lines are named by number, never by token', (t) => {
  const err = t.throws(
    () => TokenAuthenticator.parse('s3cr3t-a,ada,1\ns3cr3t-b\ns3cr3t-a,again,2\n,nobody,3\ns3cr3t-c,"open\n', SETTING),
    { instanceOf: InvalidInputError },
  );
  t.deepEqual(
    (err as InvalidInputError).fields.map((f) => [f.field, f.message]),
    [
      [SETTING, 'line 2: want token,user,uid[,groups], got 1 columns'],
      [SETTING, 'line 3: the same token as line 1'],
      [SETTING, 'line 4: the token is empty'],
      [SETTING, 'line 5: unbalanced quotes'],
    ],
  );
  t.false(err!.message.includes('s3cr3t'));
});

test('bearer tokens from the Authorization header', (t) => {
  t.is(bearerToken('Bearer abc'), 'abc');
  t.is(bearerToken('bearer abc'), 'abc');
  t.is(bearerToken('Basic YTpi'), undefined);
  t.is(bearerToken('Bearer a b'), undefined);
  t.is(bearerToken(undefined), undefined);
});

const user = (...groups: string[]): UserInfo => ({ username: 'u', groups: [...groups, 'system:authenticated'] });
const res = (verb: string, resource: string, subresource?: string): RequestAttributes => ({
  verb,
  resourceRequest: true,
  path: '/x',
  apiGroup: 'build.slipway.dev',
  apiVersion: 'v1',
  namespace: 'default',
  resource,
  ...(subresource ? { subresource } : {}),
});

test('roles: viewers read, builders also start and delete builds, admins do anything, others only discovery', (t) => {
  const viewer = user(ROLE_GROUPS.viewers);
  const builder = user(ROLE_GROUPS.builders);
  const admin = user(ROLE_GROUPS.admins);
  const nobody = user();
  const table: [RequestAttributes, boolean, boolean, boolean, boolean][] = [
    // attributes                                nobody viewer builder admin
    [res('list', 'buildconfigs'), false, true, true, true],
    [res('watch', 'builds'), false, true, true, true],
    [res('get', 'builds', 'log'), false, true, true, true],
    [res('create', 'buildconfigs', 'instantiate'), false, false, true, true],
    [res('delete', 'builds'), false, false, true, true],
    [res('create', 'buildconfigs'), false, false, false, true],
    [res('patch', 'buildconfigs'), false, false, false, true],
    [res('delete', 'buildconfigs'), false, false, false, true],
    [res('update', 'builds'), false, false, false, true],
    [{ verb: 'get', resourceRequest: false, path: '/apis' }, true, true, true, true],
    [{ verb: 'post', resourceRequest: false, path: '/apis' }, false, false, false, true],
  ];
  for (const [a, ...want] of table) {
    const what = `${a.verb} ${a.resource ?? a.path}${a.subresource ? `/${a.subresource}` : ''}`;
    t.deepEqual(
      [nobody, viewer, builder, admin].map((u) => roleAllows(u, a)),
      want,
      what,
    );
  }
});

test('tenants: slipway:ns: groups keep a user, admins too, to those namespaces and off cluster-wide requests', (t) => {
  const inNs = (a: RequestAttributes, namespace: string | undefined) => ({ ...a, namespace });
  const tenantAdmin = user(ROLE_GROUPS.admins, `${NAMESPACE_GROUP_PREFIX}team-a`);
  const twoTenants = user(ROLE_GROUPS.builders, `${NAMESPACE_GROUP_PREFIX}team-a`, `${NAMESPACE_GROUP_PREFIX}team-b`);
  const everywhere = user(ROLE_GROUPS.builders);
  const start = res('create', 'buildconfigs', 'instantiate');
  t.true(roleAllows(tenantAdmin, inNs(res('create', 'secrets'), 'team-a')));
  t.false(roleAllows(tenantAdmin, inNs(res('get', 'secrets'), 'team-b')));
  t.false(roleAllows(tenantAdmin, inNs(res('list', 'builds'), undefined)), 'not across all namespaces');
  t.true(roleAllows(twoTenants, inNs(start, 'team-b')));
  t.false(roleAllows(twoTenants, inNs(start, 'default')));
  t.true(roleAllows(everywhere, inNs(start, 'team-z')), 'no ns group: not limited');
  t.true(
    roleAllows(tenantAdmin, { verb: 'get', resourceRequest: false, path: '/apis' }),
    'discovery is not namespaced',
  );
});

test('SubjectAccessReview: decisions cached (allowed 10 s, denied 5 s), the cache bounded', async (t) => {
  let now = 0;
  const sent: V1SubjectAccessReview[] = [];
  let allow = true;
  const authz = new SubjectAccessReviewAuthorizer({
    kubeConfig: new KubeConfig(),
    send: async (r) => {
      sent.push(r);
      return { ...r, status: { allowed: allow } };
    },
    cacheSize: 2,
    clock: () => new Date(now),
    log: silentLogger,
  });
  const alice: UserInfo = { username: 'alice', uid: '7', groups: ['g'], extra: { scopes: ['a'] } };
  t.true(await authz.authorize(alice, res('get', 'builds')));
  t.deepEqual(sent[0]?.spec, {
    user: 'alice',
    uid: '7',
    groups: ['g'],
    extra: { scopes: ['a'] },
    resourceAttributes: {
      group: 'build.slipway.dev',
      version: 'v1',
      resource: 'builds',
      namespace: 'default',
      verb: 'get',
    },
  });
  allow = false;
  now = 9_999;
  t.true(await authz.authorize(alice, res('get', 'builds')), 'allowed, still cached');
  now = 10_000;
  t.false(await authz.authorize(alice, res('get', 'builds')), 'asked again');
  allow = true;
  now = 14_999;
  t.false(await authz.authorize(alice, res('get', 'builds')), 'denied, still cached');
  now = 15_000;
  t.true(await authz.authorize(alice, res('get', 'builds')));
  t.is(sent.length, 3);
  // Two more decisions push the first out of a cache of two.
  await authz.authorize(alice, res('list', 'builds'));
  await authz.authorize(alice, res('watch', 'builds'));
  await authz.authorize(alice, res('get', 'builds'));
  t.is(sent.length, 6);
});
