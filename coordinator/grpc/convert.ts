import type { Build as PBuild } from '../../proto/generated/slipway/v1/Build.js';
import type { BuildConfig as PBuildConfig, BuildConfig__Output } from '../../proto/generated/slipway/v1/BuildConfig.js';
import type { ObjectMeta as PObjectMeta } from '../../proto/generated/slipway/v1/ObjectMeta.js';
import { DEFAULT_NAMESPACE, type Build, type BuildConfig, type ObjectMeta, type Versioned } from '../../api/types.js';
import { nameErrors, validateBuildConfigSpec, type BuildConfigInput } from '../../api/validation.js';
import { InvalidBuildConfigError } from '../../common/errors.js';

/** Between the stored resources and their gRPC messages. The shapes match field for field. */

function meta(m: ObjectMeta, revision: number): PObjectMeta {
  return { ...m, resourceVersion: String(revision), labels: m.labels ?? {} };
}

export function buildConfigToProto({ value, revision }: Versioned<BuildConfig>): PBuildConfig {
  return { metadata: meta(value.metadata, revision), spec: value.spec, status: value.status };
}

export function buildToProto({ value, revision }: Versioned<Build>): PBuild {
  const { claimId: _internal, indexPush: _pushing, placement, ...status } = value.status;
  return {
    metadata: meta(value.metadata, revision),
    spec: value.spec,
    status: {
      ...status,
      exitCode: status.exitCode ?? -1,
      cancelRequested: status.cancelRequested ?? false,
      logLines: status.logLines ?? 0,
      placedAgent: placement?.agent ?? '',
    },
  };
}

/**
 * A BuildConfig message as create/update input, validated. proto3 cannot tell "0" from "not
 * set", so a zero deadline means none here.
 * @throws InvalidBuildConfigError naming every field at fault.
 */
export function buildConfigInputFromProto(msg: BuildConfig__Output | null): {
  input: BuildConfigInput;
  resourceVersion?: number;
} {
  const m = msg?.metadata;
  const namespace = m?.namespace || DEFAULT_NAMESPACE;
  const errors = [...nameErrors(m?.name, 'metadata.name', 52), ...nameErrors(namespace, 'metadata.namespace')];
  let resourceVersion: number | undefined;
  if (m?.resourceVersion) {
    resourceVersion = Number(m.resourceVersion);
    if (!Number.isSafeInteger(resourceVersion) || resourceVersion <= 0) {
      errors.push({ field: 'metadata.resourceVersion', message: `"${m.resourceVersion}" is not a revision` });
    }
  }
  const rawSpec: Record<string, unknown> = msg?.spec ? { ...msg.spec } : {};
  // proto3 cannot tell 0 from "not set": for these, 0 means not set.
  for (const field of ['completionDeadlineSeconds', 'pendingDeadlineSeconds', 'retries'])
    if (rawSpec[field] === 0) delete rawSpec[field];
  // `optional` fields can: proto-loader (oneofs: true) names the set one in a virtual oneof
  // property, `_<field>`, which is not part of the spec.
  for (const field of ['successfulBuildsHistoryLimit', 'failedBuildsHistoryLimit']) delete rawSpec[`_${field}`];
  // On a config, binary is only a marker; what an upload fills in is output, not input.
  const source = rawSpec.source as { binary?: unknown; git?: Record<string, unknown> | null } | null | undefined;
  if (source?.binary) rawSpec.source = { ...source, binary: {} };
  if (source?.git && '_submodules' in source.git) {
    const { _submodules: _set, ...git } = source.git;
    rawSpec.source = { ...(rawSpec.source as object), git };
  }
  let spec;
  try {
    spec = validateBuildConfigSpec(rawSpec, 'spec');
  } catch (err) {
    if (!(err instanceof InvalidBuildConfigError)) throw err;
    errors.push(...err.fields);
  }
  if (errors.length > 0 || !spec) throw new InvalidBuildConfigError(errors);
  const labels = m?.labels && Object.keys(m.labels).length > 0 ? m.labels : undefined;
  return { input: { metadata: { name: m!.name, namespace, labels }, spec }, resourceVersion };
}
