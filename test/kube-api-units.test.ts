import test from 'ava';
import {
  AlreadyExistsError,
  BuildConfigNotFoundError,
  ConflictError,
  InvalidBuildConfigError,
  RevisionExpiredError,
} from '../common/errors.js';
import { applyMergePatch } from '../coordinator/kube-api/merge-patch.js';
import { buildConditions, buildConfigFromKube } from '../coordinator/kube-api/objects.js';
import { BUILDCONFIGS } from '../coordinator/kube-api/resources.js';
import { parseSelector } from '../coordinator/kube-api/selectors.js';
import { KubeHttpError, toKubeStatus } from '../coordinator/kube-api/status.js';
import { humanDuration, wantsTable } from '../coordinator/kube-api/table.js';

test('merge patch follows RFC 7386', (t) => {
  // The RFC's own examples (appendix A), a few of them.
  t.deepEqual(applyMergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
  t.deepEqual(applyMergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
  t.deepEqual(applyMergePatch({ a: 'b' }, { a: null }), {});
  t.deepEqual(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
  t.deepEqual(applyMergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } }), { a: { b: 'd' } });
  t.deepEqual(applyMergePatch(['a', 'b'], ['c', 'd']), ['c', 'd']);
  t.deepEqual(applyMergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
});

test('label and field selectors', (t) => {
  const labels = { app: 'web', tier: 'front' };
  t.true(parseSelector('app=web', 'labelSelector')(labels));
  t.true(parseSelector('app==web,tier!=back', 'labelSelector')(labels));
  t.false(parseSelector('app=api', 'labelSelector')(labels));
  t.true(parseSelector('tier in (front, back),!missing', 'labelSelector')(labels));
  t.false(parseSelector('tier notin (front)', 'labelSelector')(labels));
  t.true(parseSelector('app', 'labelSelector')(labels));
  t.true(parseSelector(null, 'labelSelector')(labels));
  t.true(parseSelector('metadata.name=hello-1', 'fieldSelector')({ 'metadata.name': 'hello-1' }));
  t.throws(() => parseSelector('a in b', 'labelSelector'), { instanceOf: KubeHttpError });
});

test('tables are asked for in the Accept header, and durations print as kubectl prints ages', (t) => {
  t.true(
    wantsTable(
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    ),
  );
  t.false(wantsTable('application/json'));
  t.false(wantsTable(undefined));
  t.is(humanDuration(45_000), '45s');
  t.is(humanDuration(200_000), '3m20s');
  t.is(humanDuration(3 * 3600_000), '3h');
  t.is(humanDuration(50 * 3600_000), '2d2h');
  t.is(humanDuration(-5), '0s');
});

test('a build phase as conditions', (t) => {
  const created = '2026-01-01T00:00:00Z';
  const summary = (s: Parameters<typeof buildConditions>[0]) =>
    buildConditions(s, created).map((c) => `${c.type}=${c.status}/${c.reason}`);
  t.deepEqual(summary({ phase: 'New', attempt: 0 }), ['Running=False/New', 'Succeeded=Unknown/New']);
  t.deepEqual(summary({ phase: 'Running', attempt: 1, node: 'n', startTimestamp: created }), [
    'Running=True/Running',
    'Succeeded=Unknown/Running',
  ]);
  t.deepEqual(summary({ phase: 'Failed', reason: 'InvalidGitRef', attempt: 1 }), [
    'Running=False/Failed',
    'Succeeded=False/InvalidGitRef',
  ]);
  t.deepEqual(summary({ phase: 'Complete', attempt: 1 }), ['Running=False/Complete', 'Succeeded=True/Complete']);
});

test('errors become Status objects with the apiserver codes and reasons', (t) => {
  const target = { resource: BUILDCONFIGS, name: 'app' };
  t.like(toKubeStatus(new BuildConfigNotFoundError('default/app'), target), {
    code: 404,
    reason: 'NotFound',
    message: 'buildconfigs.build.slipway.dev "app" not found',
  });
  t.like(toKubeStatus(new AlreadyExistsError('BuildConfig', 'default.app'), target), {
    code: 409,
    reason: 'AlreadyExists',
  });
  t.like(toKubeStatus(new ConflictError('default.app', 3), target), { code: 409, reason: 'Conflict' });
  t.like(toKubeStatus(new RevisionExpiredError(3, 9)), { code: 410, reason: 'Expired' });
  const invalid = toKubeStatus(
    new InvalidBuildConfigError([{ field: 'spec.output.image', message: 'is required' }]),
    target,
  );
  t.like(invalid, { code: 422, reason: 'Invalid', details: { kind: 'BuildConfig', name: 'app' } });
  t.deepEqual(invalid.details?.causes, [
    { field: 'spec.output.image', message: 'is required', reason: 'FieldValueRequired' },
  ]);
  t.like(toKubeStatus(new Error('boom')), { code: 500, reason: 'InternalError' });
});

test('a BuildConfig object from a client: server-set metadata ignored, a namespace or name other than the URL refused', (t) => {
  const obj = {
    apiVersion: 'build.slipway.dev/v1',
    kind: 'BuildConfig',
    metadata: {
      name: 'app',
      namespace: 'default',
      uid: 'x',
      resourceVersion: '7',
      creationTimestamp: 'then',
      generation: 3,
      managedFields: [],
      annotations: { a: 'b' },
    },
    spec: { source: { dockerfile: 'FROM x\n' }, strategy: { docker: {} }, output: { image: 'r.test/a:v1' } },
    status: { lastVersion: 4 },
  };
  const { input, resourceVersion } = buildConfigFromKube(obj, { namespace: 'default', name: 'app' });
  t.is(resourceVersion, 7);
  t.deepEqual(input.metadata, { name: 'app', namespace: 'default', labels: undefined, annotations: { a: 'b' } });
  t.throws(() => buildConfigFromKube(obj, { namespace: 'other' }), {
    instanceOf: KubeHttpError,
    message: /namespace of the provided object/,
  });
  t.throws(() => buildConfigFromKube(obj, { namespace: 'default', name: 'other' }), {
    instanceOf: KubeHttpError,
    message: /does not match the name on the URL/,
  });
  const bad = t.throws(
    () => buildConfigFromKube({ ...obj, extra: 1, metadata: { name: 'app', bogus: 1 } }, { namespace: 'default' }),
    { instanceOf: InvalidBuildConfigError },
  );
  t.deepEqual(
    (bad as InvalidBuildConfigError).fields.map((f) => f.field),
    ['extra', 'metadata.bogus'],
  );
});
