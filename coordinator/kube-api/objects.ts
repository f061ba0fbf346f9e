import { InvalidBuildConfigError, InvalidInputError, type FieldError } from '../../common/errors.js';
import type { Build, BuildConfig, BuildConfigSpec, BuildStatus, ObjectMeta, Versioned } from '../../api/types.js';
import {
  MAX_CONFIG_NAME_LENGTH,
  nameErrors,
  validateBuildConfigSpec,
  type BuildConfigInput,
} from '../../api/validation.js';
import { API_VERSION, BUILDCONFIGS, BUILDS } from './resources.js';
import { KubeHttpError } from './status.js';

/**
 * Between stored resources and Kubernetes objects: `apiVersion`/`kind`, `metadata` with
 * `resourceVersion` (the KV revision as a string), and Build status with conditions.
 */

export interface KubeObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generation: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta;
  spec?: unknown;
  status?: unknown;
}

export interface KubeCondition {
  type: 'Running' | 'Succeeded';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  lastTransitionTime: string;
}

function kubeMeta(m: ObjectMeta, revision: number): KubeObjectMeta {
  return {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: String(revision),
    creationTimestamp: m.creationTimestamp,
    generation: m.generation,
    ...(m.labels && Object.keys(m.labels).length > 0 ? { labels: m.labels } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
  };
}

export function buildConfigToKube({ value, revision }: Versioned<BuildConfig>): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: BUILDCONFIGS.kind,
    metadata: kubeMeta(value.metadata, revision),
    spec: value.spec,
    status: value.status,
  };
}

export function buildToKube({ value, revision }: Versioned<Build>): KubeObject {
  const { claimId: _internal, indexPush: _pushing, ...status } = value.status;
  return {
    apiVersion: API_VERSION,
    kind: BUILDS.kind,
    metadata: kubeMeta(value.metadata, revision),
    spec: value.spec,
    status: { ...status, conditions: buildConditions(value.status, value.metadata.creationTimestamp) },
  };
}

/**
 * A build's phase as conditions, as Knative and Shipwright put it: `Succeeded` is Unknown until
 * the build ends, then True (Complete) or False (with the failure's reason); `Running` is True
 * while an agent runs it.
 */
export function buildConditions(s: BuildStatus, created: string): KubeCondition[] {
  const ended = s.phase === 'Complete' || s.phase === 'Failed' || s.phase === 'Error' || s.phase === 'Cancelled';
  const succeeded: KubeCondition = {
    type: 'Succeeded',
    status: s.phase === 'Complete' ? 'True' : ended ? 'False' : 'Unknown',
    reason: s.reason ?? s.phase,
    ...(s.message ? { message: s.message } : {}),
    lastTransitionTime: (ended ? s.completionTimestamp : undefined) ?? s.startTimestamp ?? s.queuedTimestamp ?? created,
  };
  const running: KubeCondition = {
    type: 'Running',
    status: s.phase === 'Running' ? 'True' : 'False',
    reason: s.phase === 'Running' ? (s.cancelRequested ? 'Cancelling' : 'Running') : s.phase,
    ...(s.phase === 'Running' && s.node ? { message: `on node ${s.node}` } : {}),
    lastTransitionTime:
      (s.phase === 'Running' ? s.startTimestamp : (s.completionTimestamp ?? s.startTimestamp)) ?? created,
  };
  return [running, succeeded];
}

/** Server-set metadata a client may send back as it got it; it is ignored. */
const SERVER_METADATA = new Set([
  'uid',
  'creationTimestamp',
  'generation',
  'resourceVersion',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);
const CLIENT_METADATA = new Set([
  'name',
  'namespace',
  'labels',
  'annotations',
  'generateName',
  'finalizers',
  'ownerReferences',
]);

/**
 * A BuildConfig as a Kubernetes client sends it (create, update, or a patch's result), checked
 * whole: every problem is reported together with its field path.
 * @throws InvalidBuildConfigError (422 Invalid) naming every field; KubeHttpError 400 when the
 * object names another namespace or name than the URL.
 */
export function buildConfigFromKube(
  body: unknown,
  url: { namespace: string; name?: string },
): { input: BuildConfigInput; resourceVersion?: number } {
  const errors: FieldError[] = [];
  if (!isRecord(body)) throw new KubeHttpError(400, 'BadRequest', 'the body must be a BuildConfig object');
  for (const k of Object.keys(body))
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k))
      errors.push({ field: k, message: 'unknown field' });
  if (body.apiVersion !== undefined && body.apiVersion !== API_VERSION)
    errors.push({ field: 'apiVersion', message: `must be ${API_VERSION}, got "${String(body.apiVersion)}"` });
  if (body.kind !== undefined && body.kind !== BUILDCONFIGS.kind)
    errors.push({ field: 'kind', message: `must be ${BUILDCONFIGS.kind}, got "${String(body.kind)}"` });
  const m = isRecord(body.metadata) ? body.metadata : {};
  for (const k of Object.keys(m))
    if (!SERVER_METADATA.has(k) && !CLIENT_METADATA.has(k))
      errors.push({ field: `metadata.${k}`, message: 'unknown field' });
  if (m.generateName !== undefined)
    errors.push({ field: 'metadata.generateName', message: 'is not supported: name the BuildConfig' });
  if (Array.isArray(m.finalizers) && m.finalizers.length > 0)
    errors.push({ field: 'metadata.finalizers', message: 'are not supported' });
  if (Array.isArray(m.ownerReferences) && m.ownerReferences.length > 0)
    errors.push({ field: 'metadata.ownerReferences', message: 'are not supported' });
  if (m.namespace !== undefined && m.namespace !== url.namespace) {
    throw new KubeHttpError(
      400,
      'BadRequest',
      `the namespace of the provided object (${String(m.namespace)}) does not match the namespace sent on the request (${url.namespace})`,
    );
  }
  if (url.name !== undefined && m.name !== undefined && m.name !== url.name) {
    throw new KubeHttpError(
      400,
      'BadRequest',
      `the name of the object (${String(m.name)}) does not match the name on the URL (${url.name})`,
    );
  }
  const name = (m.name ?? url.name) as unknown;
  errors.push(...nameErrors(name, 'metadata.name', MAX_CONFIG_NAME_LENGTH));
  const labels = stringMap(m.labels, 'metadata.labels', errors);
  const annotations = stringMap(m.annotations, 'metadata.annotations', errors) ?? {};
  let resourceVersion: number | undefined;
  if (m.resourceVersion !== undefined && m.resourceVersion !== '') {
    resourceVersion = Number(m.resourceVersion);
    if (!Number.isSafeInteger(resourceVersion) || resourceVersion <= 0)
      errors.push({
        field: 'metadata.resourceVersion',
        message: `"${String(m.resourceVersion)}" is not a resource version`,
      });
  }
  let spec: BuildConfigSpec | undefined;
  if (body.spec === undefined) errors.push({ field: 'spec', message: 'is required' });
  else {
    try {
      spec = validateBuildConfigSpec(body.spec, 'spec');
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      errors.push(...err.fields);
    }
  }
  if (errors.length > 0 || !spec) throw new InvalidBuildConfigError(errors);
  return {
    input: { metadata: { name: name as string, namespace: url.namespace, labels, annotations }, spec },
    resourceVersion,
  };
}

/**
 * The body of `buildconfigs/NAME/instantiate`: `{kind: BuildRequest, apiVersion, metadata:
 * {name}, ref?, image?}`, overrides for this build only.
 * @throws InvalidInputError naming every field at fault.
 */
export function buildRequestFromKube(body: unknown, configName: string): { ref?: string; image?: string } {
  const b = body === undefined ? {} : body;
  if (!isRecord(b)) throw new KubeHttpError(400, 'BadRequest', 'the body must be a BuildRequest object');
  const errors: FieldError[] = [];
  for (const k of Object.keys(b))
    if (!['apiVersion', 'kind', 'metadata', 'ref', 'image'].includes(k))
      errors.push({ field: k, message: 'unknown field' });
  if (b.kind !== undefined && b.kind !== 'BuildRequest')
    errors.push({ field: 'kind', message: `must be BuildRequest, got "${String(b.kind)}"` });
  if (b.apiVersion !== undefined && b.apiVersion !== API_VERSION)
    errors.push({ field: 'apiVersion', message: `must be ${API_VERSION}` });
  const name = isRecord(b.metadata) ? b.metadata.name : undefined;
  if (name !== undefined && name !== configName) {
    throw new KubeHttpError(
      400,
      'BadRequest',
      `the name of the object (${String(name)}) does not match the name on the URL (${configName})`,
    );
  }
  for (const f of ['ref', 'image'] as const)
    if (b[f] !== undefined && typeof b[f] !== 'string') errors.push({ field: f, message: 'must be a string' });
  if (errors.length > 0) throw new InvalidInputError(errors, 'BuildRequest');
  return { ref: (b.ref as string | undefined) || undefined, image: (b.image as string | undefined) || undefined };
}

function stringMap(v: unknown, field: string, errors: FieldError[]): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) {
    errors.push({ field, message: 'must be a map of strings' });
    return undefined;
  }
  for (const [k, x] of Object.entries(v))
    if (typeof x !== 'string') errors.push({ field: `${field}.${k}`, message: 'must be a string' });
  return Object.keys(v).length > 0 ? (v as Record<string, string>) : undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A Build as a client sends it back (update, or a patch's result): only labels and annotations
 * may differ from `current`; status changes are ignored, as the apiserver ignores them outside
 * the status subresource.
 * @throws InvalidInputError naming the fields that may not change.
 */
export function buildMetadataFromKube(
  body: unknown,
  current: KubeObject,
): { labels?: Record<string, string>; annotations: Record<string, string>; resourceVersion?: number } {
  if (!isRecord(body)) throw new KubeHttpError(400, 'BadRequest', 'the body must be a Build object');
  const errors: FieldError[] = [];
  for (const k of Object.keys(body))
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k))
      errors.push({ field: k, message: 'unknown field' });
  if (body.apiVersion !== undefined && body.apiVersion !== API_VERSION)
    errors.push({ field: 'apiVersion', message: `must be ${API_VERSION}` });
  if (body.kind !== undefined && body.kind !== BUILDS.kind)
    errors.push({ field: 'kind', message: `must be ${BUILDS.kind}` });
  const m = isRecord(body.metadata) ? body.metadata : {};
  if (m.namespace !== undefined && m.namespace !== current.metadata.namespace) {
    throw new KubeHttpError(
      400,
      'BadRequest',
      `the namespace of the provided object (${String(m.namespace)}) does not match the namespace sent on the request (${current.metadata.namespace})`,
    );
  }
  if (m.name !== undefined && m.name !== current.metadata.name) {
    throw new KubeHttpError(
      400,
      'BadRequest',
      `the name of the object (${String(m.name)}) does not match the name on the URL (${current.metadata.name})`,
    );
  }
  for (const k of Object.keys(m))
    if (!SERVER_METADATA.has(k) && !CLIENT_METADATA.has(k))
      errors.push({ field: `metadata.${k}`, message: 'unknown field' });
  if (body.spec !== undefined && JSON.stringify(canonical(body.spec)) !== JSON.stringify(canonical(current.spec))) {
    errors.push({
      field: 'spec',
      message: 'is immutable: a build keeps the spec it started with (start another build instead)',
    });
  }
  const labels = stringMap(m.labels, 'metadata.labels', errors);
  const configLabel = 'slipway.dev/buildconfig';
  const want = (current.metadata.labels ?? {})[configLabel];
  if (labels?.[configLabel] !== want)
    errors.push({ field: `metadata.labels.${configLabel}`, message: `is set by Slipway and must stay "${want}"` });
  const annotations = stringMap(m.annotations, 'metadata.annotations', errors) ?? {};
  let resourceVersion: number | undefined;
  if (m.resourceVersion !== undefined && m.resourceVersion !== '') {
    resourceVersion = Number(m.resourceVersion);
    if (!Number.isSafeInteger(resourceVersion) || resourceVersion <= 0)
      errors.push({
        field: 'metadata.resourceVersion',
        message: `"${String(m.resourceVersion)}" is not a resource version`,
      });
  }
  if (errors.length > 0) throw new InvalidInputError(errors, 'Build');
  return { labels, annotations, resourceVersion };
}

/** JSON with object keys sorted, for comparing documents whatever order a client wrote them in. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isRecord(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical(v[k])]),
  );
}
