import test from 'ava';
import { parseImageReference } from '../common/image-reference.js';
import { cpuToCfs, parseQuantity } from '../common/quantity.js';
import { gitRefProblem, gitUriProblem } from '../api/validation.js';

test('image references: registry, path, tag and digest are told apart', (t) => {
  t.deepEqual(parseImageReference('127.0.0.1:5000/library/busybox:latest'), {
    domain: '127.0.0.1:5000',
    path: 'library/busybox',
    tag: 'latest',
    digest: undefined,
  });
  t.deepEqual(parseImageReference('team/app'), {
    domain: undefined,
    path: 'team/app',
    tag: undefined,
    digest: undefined,
  });
  t.deepEqual(parseImageReference('localhost/app:1.0'), {
    domain: 'localhost',
    path: 'app',
    tag: '1.0',
    digest: undefined,
  });
  t.is(
    (parseImageReference('registry.test/app@sha256:' + 'a'.repeat(64)) as { digest: string }).digest,
    'sha256:' + 'a'.repeat(64),
  );
});

test('image references Docker would refuse are refused', (t) => {
  for (const bad of ['', 'team/UPPER', 'app:', 'a//b', 'app:tag with space', ':tag', 'app@sha256:short']) {
    t.is(typeof parseImageReference(bad), 'string', bad);
  }
});

test('quantities in Kubernetes notation', (t) => {
  t.is(parseQuantity('500m'), 0.5);
  t.is(parseQuantity('2'), 2);
  t.is(parseQuantity('512Mi'), 512 * 2 ** 20);
  t.is(parseQuantity('1G'), 1e9);
  t.is(parseQuantity('1e3'), 1000);
  t.is(parseQuantity('-1Gi'), -(2 ** 30));
  t.is(parseQuantity('lots'), undefined);
  t.is(parseQuantity('1 Gi'), undefined);
  t.deepEqual(cpuToCfs(0.5), { cpuPeriod: 100_000, cpuQuota: 50_000 });
});

test('git URIs: remote protocols pass, local paths and options do not', (t) => {
  for (const ok of [
    'git://127.0.0.1:9418/app',
    'https://git.example.test/team/app.git',
    'ssh://git@example.test/app.git',
    'git@example.test:team/app.git',
  ]) {
    t.is(gitUriProblem(ok), undefined, ok);
  }
  for (const bad of [
    'file:///etc',
    '/srv/repo',
    '-uhttp://x',
    'https://user:secret@example.test/app.git',
    'ftp://example.test/app',
  ]) {
    t.truthy(gitUriProblem(bad), bad);
  }
});

test('git refs follow check-ref-format', (t) => {
  for (const ok of ['main', 'release/1.2', 'v1.0.0', 'a'.repeat(40)]) t.is(gitRefProblem(ok), undefined, ok);
  for (const bad of ['-x', 'a..b', 'a b', 'a~1', 'x.lock', 'x/', 'ref@{1}']) t.truthy(gitRefProblem(bad), bad);
});
