import { Ajv, type ErrorObject } from 'ajv';
import { InvalidBuildConfigError, InvalidInputError, type FieldError } from '../common/errors.js';
import { buildConfigSchema, buildConfigSpecSchema } from './schema.js';
import { parseImageReference } from '../common/image-reference.js';
import { labelKeyProblem, labelValueProblem } from '../common/labels.js';
import { parseQuantity } from '../common/quantity.js';
import { ARCH_LABEL, MAX_PLATFORMS, OS_LABEL, parsePlatform } from './platforms.js';
import {
  DEFAULT_NAMESPACE,
  isWebhookTrigger,
  MAX_BUILD_SECRETS,
  MAX_SOURCE_IMAGE_PATHS,
  MAX_SOURCE_IMAGES,
  type BuildConfigSpec,
  type BuildSecret,
  type ImageSource,
} from './types.js';

/**
 * Validation of everything a client can send. Every check reports the field path and why; all
 * problems of a request are reported together. Nothing here has side effects, so callers validate
 * first and change state only after.
 */

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const checkDocument = ajv.compile(buildConfigSchema);
const checkSpec = ajv.compile(buildConfigSpecSchema);

/** DNS-1123 label, as Kubernetes names are; short enough that `<config>-<n>` stays a label. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_CONFIG_NAME_LENGTH = 52;
export const MAX_RETRIES = 10;
export const MAX_HISTORY_LIMIT = 1000;
const MAX_BUILD_NAME_LENGTH = 63;

export interface BuildConfigInput {
  /** `annotations` undefined: an update keeps the config's annotations (the gRPC API has none). */
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: BuildConfigSpec;
}

/**
 * Checks a BuildConfig document as a user wrote it (YAML or JSON parsed to plain data): shape,
 * no unknown fields, and every value's meaning. Returns the normalised config.
 * @throws InvalidBuildConfigError naming every field at fault.
 */
export function parseBuildConfigDocument(doc: unknown): BuildConfigInput {
  if (!checkDocument(doc)) throw new InvalidBuildConfigError(schemaErrors(checkDocument.errors, ''));
  const d = doc as { metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec: unknown };
  const namespace = d.metadata.namespace || DEFAULT_NAMESPACE;
  const errors = [
    ...nameErrors(d.metadata.name, 'metadata.name', MAX_CONFIG_NAME_LENGTH),
    ...nameErrors(namespace, 'metadata.namespace', 63),
  ];
  let spec: BuildConfigSpec | undefined;
  try {
    spec = validateBuildConfigSpec(d.spec, 'spec');
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    errors.push(...err.fields);
  }
  if (errors.length > 0 || !spec) throw new InvalidBuildConfigError(errors);
  return { metadata: { name: d.metadata.name, namespace, labels: d.metadata.labels }, spec };
}

/**
 * Checks a spec (from a document or a gRPC message turned into plain data) and returns it
 * normalised: empty strings and zeroes that mean "not set" are dropped, quantities are strings.
 * @throws InvalidBuildConfigError naming every field at fault.
 */
export function validateBuildConfigSpec(input: unknown, path = 'spec'): BuildConfigSpec {
  const raw = dropUnset(input);
  if (!checkSpec(raw)) throw new InvalidBuildConfigError(schemaErrors(checkSpec.errors, path));
  const spec = raw as BuildConfigSpec;
  const errors: FieldError[] = [];
  const at = (field: string, message: string) => errors.push({ field: `${path}.${field}`, message });

  if (!spec.source.git && spec.source.dockerfile === undefined && !spec.source.binary && !spec.source.images) {
    at('source', 'needs git, an inline dockerfile, binary: {} (uploaded contexts), images, or a combination');
  }
  errors.push(...sourceImageErrors(spec.source.images, `${path}.source.images`));
  if (spec.source.git) {
    const uriProblem = gitUriProblem(spec.source.git.uri);
    if (uriProblem) at('source.git.uri', uriProblem);
    if (spec.source.git.ref !== undefined) {
      const refProblem = gitRefProblem(spec.source.git.ref);
      if (refProblem) at('source.git.ref', refProblem);
    }
  }
  if (spec.source.dockerfile !== undefined && spec.source.dockerfile.length > 64 * 1024)
    at('source.dockerfile', 'must be at most 64 KiB');
  const strategies = [spec.strategy.docker, spec.strategy.source, spec.strategy.custom].filter((x) => x !== undefined);
  if (strategies.length !== 1) at('strategy', 'needs exactly one of docker, source or custom');
  const custom = spec.strategy.custom;
  if (custom) {
    const builder = parseImageReference(custom.image);
    if (typeof builder === 'string') at('strategy.custom.image', builder);
    if (spec.source.dockerfile !== undefined) at('source.dockerfile', 'is for the docker strategy, not custom');
    const seen = new Set<string>();
    custom.env?.forEach((e, i) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.name))
        at(`strategy.custom.env[${i}].name`, `"${e.name}" is not a valid variable name`);
      else if (e.name.startsWith('SLIPWAY_'))
        at(`strategy.custom.env[${i}].name`, `"${e.name}": SLIPWAY_* variables are set by the agent`);
      else if (seen.has(e.name)) at(`strategy.custom.env[${i}].name`, `"${e.name}" is given twice`);
      seen.add(e.name);
    });
    if (custom.exposeDockerSocket && spec.security?.unprivileged)
      at(
        'strategy.custom.exposeDockerSocket',
        'cannot be true with security.unprivileged: a builder given a Docker daemon can start containers as root on the node',
      );
  }
  const docker = spec.strategy.docker ?? {};
  const s2i = spec.strategy.source;
  if (s2i) {
    const builder = parseImageReference(s2i.builderImage);
    if (typeof builder === 'string') at('strategy.source.builderImage', builder);
    if (s2i.scriptsUrl !== undefined && !/^(image:\/\/\/|https?:\/\/)./.test(s2i.scriptsUrl)) {
      at('strategy.source.scriptsUrl', 'must be image:///path (in the builder image) or an http(s) URL');
    }
    if (spec.source.dockerfile !== undefined) at('source.dockerfile', 'is for the docker strategy, not source');
    s2i.env?.forEach((e, i) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.name))
        at(`strategy.source.env[${i}].name`, `"${e.name}" is not a valid variable name`);
    });
  }
  if (docker.from !== undefined) {
    const from = parseImageReference(docker.from);
    if (typeof from === 'string') at('strategy.docker.from', from);
  }
  if (docker.target !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(docker.target))
    at('strategy.docker.target', `"${docker.target}" is not a stage name`);
  const seenEnv = new Set<string>();
  docker.env?.forEach((e, i) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.name))
      at(`strategy.docker.env[${i}].name`, `"${e.name}" is not a valid variable name`);
    if (seenEnv.has(e.name)) at(`strategy.docker.env[${i}].name`, `"${e.name}" is given twice`);
    if (/[\r\n]/.test(e.value ?? '')) at(`strategy.docker.env[${i}].value`, 'must be one line');
    seenEnv.add(e.name);
  });
  if (spec.source.contextDir !== undefined) {
    const p = relativePathProblem(spec.source.contextDir);
    if (p) at('source.contextDir', p);
  }
  if (docker.dockerfilePath !== undefined) {
    const p = relativePathProblem(docker.dockerfilePath);
    if (p) at('strategy.docker.dockerfilePath', p);
  }
  const seenArgs = new Set<string>();
  docker.buildArgs?.forEach((arg, i) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(arg.name))
      at(`strategy.docker.buildArgs[${i}].name`, `"${arg.name}" is not a valid build argument name`);
    if (seenArgs.has(arg.name)) at(`strategy.docker.buildArgs[${i}].name`, `"${arg.name}" is given twice`);
    seenArgs.add(arg.name);
  });
  errors.push(...buildSecretErrors(docker.secrets, `${path}.strategy.docker.secrets`));
  errors.push(...buildSecretErrors(custom?.secrets, `${path}.strategy.custom.secrets`));

  const ref = parseImageReference(spec.output.image);
  if (typeof ref === 'string') at('output.image', ref);
  else if (ref.digest) at('output.image', 'must name a tag, not a digest: a build pushes a new image');
  if (spec.output.pushSecret)
    errors.push(...nameErrors(spec.output.pushSecret.name, `${path}.output.pushSecret.name`, 253));
  errors.push(...platformErrors(spec, path));
  const pullSecret = (spec.strategy.docker ?? spec.strategy.source ?? spec.strategy.custom)?.pullSecret;
  if (pullSecret)
    errors.push(
      ...nameErrors(
        pullSecret.name,
        `${path}.strategy.${spec.strategy.docker ? 'docker' : spec.strategy.source ? 'source' : 'custom'}.pullSecret.name`,
        253,
      ),
    );
  if (spec.source.sourceSecret) {
    errors.push(...nameErrors(spec.source.sourceSecret.name, `${path}.source.sourceSecret.name`, 253));
    if (!spec.source.git) at('source.sourceSecret', 'is for fetching a git source, and there is none');
  }

  if (spec.resources) {
    for (const key of ['cpu', 'memory'] as const) {
      const value = spec.resources[key];
      if (value === undefined) continue;
      const text = String(value);
      spec.resources[key] = text;
      const q = parseQuantity(text);
      if (q === undefined)
        at(`resources.${key}`, `"${text}" is not a quantity (e.g. ${key === 'cpu' ? '"500m" or "2"' : '"512Mi"'})`);
      else if (q <= 0) at(`resources.${key}`, `must be greater than zero, got "${text}"`);
      else if (key === 'memory' && q < 6 * 2 ** 20)
        at(`resources.${key}`, `must be at least 6Mi (Docker's minimum), got "${text}"`);
      else if (key === 'cpu' && q < 0.01) at(`resources.${key}`, `must be at least 10m, got "${text}"`);
    }
  }
  if (spec.completionDeadlineSeconds !== undefined && spec.completionDeadlineSeconds <= 0) {
    at('completionDeadlineSeconds', `must be greater than zero, got ${spec.completionDeadlineSeconds}`);
  }
  if (spec.pendingDeadlineSeconds !== undefined && spec.pendingDeadlineSeconds <= 0) {
    at('pendingDeadlineSeconds', `must be greater than zero, got ${spec.pendingDeadlineSeconds}`);
  }
  if (spec.retries !== undefined && (spec.retries < 0 || spec.retries > MAX_RETRIES)) {
    at('retries', `must be between 0 and ${MAX_RETRIES}, got ${spec.retries}`);
  }
  for (const [key, value] of Object.entries(spec.nodeSelector ?? {})) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) at(`nodeSelector.${key}`, keyProblem);
    const valueProblem = labelValueProblem(value);
    if (valueProblem) at(`nodeSelector.${key}`, valueProblem);
  }
  for (const field of ['successfulBuildsHistoryLimit', 'failedBuildsHistoryLimit'] as const) {
    const limit = spec[field];
    if (limit !== undefined && (limit < 0 || limit > MAX_HISTORY_LIMIT))
      at(field, `must be between 0 and ${MAX_HISTORY_LIMIT}, got ${limit}`);
  }
  const seenTriggers = new Set<string>();
  spec.triggers?.forEach((t, i) => {
    if (isWebhookTrigger(t.type)) {
      if (!t.secret) at(`triggers[${i}].secret`, `is required for a ${t.type} webhook: it names the webhook secret`);
      else errors.push(...nameErrors(t.secret.name, `${path}.triggers[${i}].secret.name`, 253));
      if (!spec.source.git)
        at(
          `triggers[${i}].type`,
          `a ${t.type} webhook starts builds at a pushed commit, and the config has no git source`,
        );
    } else if (t.secret) {
      at(`triggers[${i}].secret`, `is only for webhook triggers, not ${t.type}`);
    }
    const uploadsOnly = spec.source.binary && !spec.source.git && spec.source.dockerfile === undefined;
    if ((t.type === 'ImageChange' || t.type === 'ConfigChange') && uploadsOnly) {
      at(
        `triggers[${i}].type`,
        `a ${t.type} trigger starts builds without an upload, and the config builds from uploaded contexts`,
      );
    }
    if (t.imageChange && t.type !== 'ImageChange')
      at(`triggers[${i}].imageChange`, `is only for ImageChange triggers, not ${t.type}`);
    if (t.type === 'ImageChange') {
      const from =
        t.imageChange?.from ??
        spec.strategy.docker?.from ??
        spec.strategy.source?.builderImage ??
        spec.strategy.custom?.image;
      if (from === undefined)
        at(
          `triggers[${i}].imageChange.from`,
          'is required: the strategy names no image (docker.from, source.builderImage or custom.image) to watch',
        );
      else {
        const parsed = parseImageReference(from);
        if (typeof parsed === 'string') at(`triggers[${i}].imageChange.from`, parsed);
        else if (parsed.digest)
          at(`triggers[${i}].imageChange.from`, `"${from}" names a digest, which never changes: watch a tag`);
      }
    }
    const identity = `${t.type}/${t.imageChange?.from ?? ''}`;
    if (seenTriggers.has(identity))
      at(`triggers[${i}]`, `${t.type}${t.imageChange?.from ? ` of ${t.imageChange.from}` : ''} is given twice`);
    seenTriggers.add(identity);
  });
  if (errors.length > 0) throw new InvalidBuildConfigError(errors);
  return spec;
}

/**
 * What is wrong with `output.platforms`: each an os/arch[/variant], none twice, at most
 * MAX_PLATFORMS, only for the Docker strategy (the one whose engine builds for a named platform),
 * and no nodeSelector on the labels each platform's build sets itself.
 */
function platformErrors(spec: BuildConfigSpec, path: string): FieldError[] {
  const platforms = spec.output.platforms;
  if (platforms === undefined) return [];
  const field = `${path}.output.platforms`;
  const errors: FieldError[] = [];
  if (platforms.length > MAX_PLATFORMS)
    errors.push({ field, message: `must name at most ${MAX_PLATFORMS} platforms, got ${platforms.length}` });
  const seen = new Set<string>();
  platforms.forEach((p, i) => {
    const parsed = parsePlatform(p);
    if (typeof parsed === 'string') errors.push({ field: `${field}[${i}]`, message: parsed });
    else if (seen.has(p)) errors.push({ field: `${field}[${i}]`, message: `"${p}" is given twice` });
    seen.add(p);
  });
  if (!spec.strategy.docker)
    errors.push({
      field,
      message: `only the docker strategy builds for named platforms (BuildKit's platform option); this config uses ${spec.strategy.source ? 'source' : 'custom'}`,
    });
  for (const label of [ARCH_LABEL, OS_LABEL])
    if (spec.nodeSelector?.[label] !== undefined)
      errors.push({
        field: `${path}.nodeSelector.${label}`,
        message: `cannot be set with output.platforms: each platform's build selects the nodes of its own ${label}`,
      });
  return errors;
}

/** Problems with source.images: images that parse, secrets named, paths that stay in the image and the context. */
function sourceImageErrors(images: ImageSource[] | undefined, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!images) return errors;
  if (images.length > MAX_SOURCE_IMAGES)
    errors.push({ field, message: `must name at most ${MAX_SOURCE_IMAGES} images, got ${images.length}` });
  images.forEach((image, i) => {
    const at = `${field}[${i}]`;
    const ref = parseImageReference(image.from);
    if (typeof ref === 'string') errors.push({ field: `${at}.from`, message: ref });
    if (image.pullSecret) errors.push(...nameErrors(image.pullSecret.name, `${at}.pullSecret.name`, 253));
    if (image.paths.length > MAX_SOURCE_IMAGE_PATHS)
      errors.push({
        field: `${at}.paths`,
        message: `must name at most ${MAX_SOURCE_IMAGE_PATHS} paths, got ${image.paths.length}`,
      });
    image.paths.forEach((p, j) => {
      const sourceProblem = imageSourcePathProblem(p.sourcePath);
      if (sourceProblem) errors.push({ field: `${at}.paths[${j}].sourcePath`, message: sourceProblem });
      if (p.destinationDir !== undefined) {
        const destProblem = relativePathProblem(p.destinationDir);
        if (destProblem) errors.push({ field: `${at}.paths[${j}].destinationDir`, message: destProblem });
      }
    });
  });
  return errors;
}

/**
 * Why a path cannot be copied out of an image, or undefined: it must be absolute, and neither
 * climb with ".." nor hold a NUL. The image's root itself ("/" or "/.") is allowed: its contents.
 */
export function imageSourcePathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return `"${p}" must be an absolute path in the image`;
  if (p.split('/').includes('..')) return 'must not contain ".."';
  if (p.includes('\0')) return 'must not contain NUL';
  return undefined;
}

/** What BuildKit accepts as a secret id, and what the agent can find in a `--mount` flag. */
const BUILD_SECRET_ID = /^[A-Za-z0-9._-]+$/;
export const MAX_BUILD_SECRET_ID_LENGTH = 128;

/** Problems with strategy.docker.secrets: ids well-formed and unique, secrets named, not too many. */
function buildSecretErrors(secrets: BuildSecret[] | undefined, field: string) {
  const errors: FieldError[] = [];
  if (!secrets) return errors;
  if (secrets.length > MAX_BUILD_SECRETS)
    errors.push({ field, message: `must name at most ${MAX_BUILD_SECRETS} secrets, got ${secrets.length}` });
  const seen = new Set<string>();
  secrets.forEach((s, i) => {
    if (s.id.length > MAX_BUILD_SECRET_ID_LENGTH)
      errors.push({
        field: `${field}[${i}].id`,
        message: `must be at most ${MAX_BUILD_SECRET_ID_LENGTH} characters, got ${s.id.length}`,
      });
    else if (!BUILD_SECRET_ID.test(s.id) || s.id === '.' || s.id === '..')
      errors.push({
        field: `${field}[${i}].id`,
        message: `"${s.id}" must consist of letters, digits, '.', '_' and '-' (and not be "." or "..")`,
      });
    else if (seen.has(s.id)) errors.push({ field: `${field}[${i}].id`, message: `"${s.id}" is given twice` });
    seen.add(s.id);
    errors.push(...nameErrors(s.secret.name, `${field}[${i}].secret.name`, 253));
  });
  return errors;
}

/** Problems with a Kubernetes-style object name. */
export function nameErrors(name: unknown, field: string, maxLength = MAX_BUILD_NAME_LENGTH): FieldError[] {
  if (typeof name !== 'string' || name.length === 0) return [{ field, message: 'must not be empty' }];
  if (name.length > maxLength)
    return [{ field, message: `must be at most ${maxLength} characters, got ${name.length}` }];
  if (!NAME.test(name)) {
    return [
      {
        field,
        message: `"${name}" must consist of lower case letters, digits and '-', and start and end with a letter or digit`,
      },
    ];
  }
  return [];
}

/** Throws InvalidInputError when a namespace/name pair in a request is malformed. */
export function requireName(name: unknown, field: string): string {
  const errors = nameErrors(name, field);
  if (errors.length > 0) throw new InvalidInputError(errors);
  return name as string;
}

/** Why a git URI cannot be used, or undefined. Local paths are refused: they would read the node's disk. */
export function gitUriProblem(uri: string): string | undefined {
  if (/\s/.test(uri)) return 'must not contain white space';
  if (uri.startsWith('-')) return 'must not start with "-"';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme) {
    if (!['git', 'http', 'https', 'ssh'].includes(scheme)) {
      return `scheme "${scheme}" is not supported (use git://, http://, https:// or ssh://)`;
    }
    try {
      const u = new URL(uri);
      if (!u.hostname) return 'must name a host';
      if (u.password) return 'must not carry a password; use a source secret';
    } catch {
      return `"${uri}" is not a valid URI`;
    }
    return undefined;
  }
  if (/^[\w.-]+@[\w.-]+:[^/]/.test(uri) || /^[\w.-]+@[\w.-]+:\//.test(uri)) return undefined; // scp-like ssh
  return `"${uri}" is not a git URI (git://, http(s)://, ssh:// or user@host:path)`;
}

/** Why a ref cannot be a branch, tag or commit name (git check-ref-format's rules), or undefined. */
export function gitRefProblem(ref: string): string | undefined {
  if (ref.startsWith('-')) return 'must not start with "-"';
  // Control characters are exactly what git refuses here.
  // eslint-disable-next-line no-control-regex
  if (/[\s~^:?*[\\\x00-\x1f\x7f]/.test(ref)) return `"${ref}" contains a character git does not allow in a ref`;
  if (
    ref.includes('..') ||
    ref.includes('@{') ||
    ref.endsWith('.') ||
    ref.endsWith('/') ||
    ref.endsWith('.lock') ||
    ref.startsWith('/') ||
    ref.includes('//')
  ) {
    return `"${ref}" is not a valid git ref`;
  }
  if (ref.length > 255) return 'must be at most 255 characters';
  return undefined;
}

/** Why `p` is not a path inside a folder (relative, no "..", no NUL), or undefined. */
export function relativePathProblem(p: string): string | undefined {
  if (p.startsWith('/')) return 'must be a relative path';
  if (p.split('/').includes('..')) return 'must not contain ".."';
  if (p.includes('\0')) return 'must not contain NUL';
  return undefined;
}

function schemaErrors(errors: ErrorObject[] | null | undefined, base: string): FieldError[] {
  return (errors ?? []).map((e) => {
    const parts = e.instancePath
      .split('/')
      .filter(Boolean)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let path = [base, ...parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : p))]
      .filter(Boolean)
      .join('.')
      .replace(/\.\[/g, '[');
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      path = path ? `${path}.${extra}` : extra;
      message = 'unknown field';
    } else if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      path = path ? `${path}.${missing}` : missing;
      message = 'is required';
    }
    return { field: path || '(document)', message };
  });
}

/**
 * Plain data with proto3's "not set" values removed: empty strings, false, empty lists, null and
 * empty sub-messages. Numbers are kept, so an explicit 0 or negative limit is refused below; the
 * gRPC layer turns proto3's 0 ("not set") into undefined before calling in.
 */
/** Booleans whose default is true: for these, false is a setting, not "not set". */
const FALSE_IS_SET = new Set(['submodules']);

function dropUnset(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropUnset);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // A label selector's empty value is a value ("has this label, empty"): keep the map as given.
    if (k === 'nodeSelector' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      if (Object.keys(v).length > 0) out[k] = { ...v };
      continue;
    }
    if (v === null || v === undefined || v === '' || (v === false && !FALSE_IS_SET.has(k))) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    const cleaned = dropUnset(v);
    // An empty object still means something for these: "the Docker strategy", "takes uploads",
    // "the custom strategy" (whose image is then missing, said as such).
    if (
      cleaned &&
      typeof cleaned === 'object' &&
      !Array.isArray(cleaned) &&
      Object.keys(cleaned).length === 0 &&
      k !== 'docker' &&
      k !== 'binary' &&
      k !== 'custom'
    )
      continue;
    out[k] = cleaned;
  }
  return out;
}
