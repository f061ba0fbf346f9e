import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { AbortedError, errorMessage } from '../../common/errors.js';
import { parseImageReference, pinnedReference } from '../../common/image-reference.js';
import {
  BuildFailure,
  InvalidContextError,
  InvalidSourceImageContentError,
  MissingSourceImagePullSecretError,
  SourceImageAuthFailedError,
  SourceImageNotFoundError,
  SourceImagePathNotFoundError,
  SourceImagePullFailedError,
} from '../build-failures.js';
import { isRegistryAuthRefusal } from '../container-runtime/registry-refusals.js';
import { authFor } from '../../common/registry-auth.js';
import { ContainerPathNotFoundError, type ContainerRuntime, type RegistryAuth } from '../container-runtime/types.js';
import type { ClaimedImageSource, Credentials } from '../jobs/claimed-build.js';
import { extractContext, type ContextLimits } from './safe-extract.js';
import type { SourceImageLeases } from './source-image-leases.js';

/** A source image's tag as resolved for the build (status.sourceImages). */
export interface ResolvedSourceImage {
  from: string;
  digest: string;
}

export interface ImageSourceOptions {
  images: ClaimedImageSource[];
  /** The digests an earlier attempt recorded; undefined: this attempt resolves them. */
  recorded?: ResolvedSourceImage[];
  /**
   * Records the digests this attempt resolved (before anything is copied) and answers those to
   * use: the first attempt's, should one have recorded them meanwhile. Undefined: not recorded.
   */
  record?: (images: ResolvedSourceImage[]) => Promise<ResolvedSourceImage[]>;
  /** Pull secrets by name, as the claim handed them over. */
  credentials: ReadonlyMap<string, Credentials>;
  /** The build's context folder: every path lands inside it. */
  contextDir: string;
  runtime: ContainerRuntime;
  /** The build's labels, put on the containers made to copy out of the images. */
  labels: Record<string, string>;
  /** What each path may unpack to (the limits of an uploaded context). */
  limits: ContextLimits;
  /** Which images this agent pulled for sources and which builds use them: the last one removes it. */
  leases: SourceImageLeases;
  /** Told each image reference used, so the image GC keeps it while the build runs. */
  holdImages?: (references: string[]) => void;
  /** Called with each container made, before it is used (the build removes them all at its end). */
  onContainer?: (id: string) => void;
  onLine: (line: string) => void;
  signal: AbortSignal;
}

/**
 * Copies the source images' paths into the build's context: each image's tag resolved to a
 * digest (or the digests an earlier attempt recorded), pulled by digest when the daemon lacks it,
 * a container made from it (never started), each path read out of it with the daemon's archive
 * API and unpacked with the safe extraction of uploads, and the container removed. An image the
 * agent pulled is removed once no build of the agent uses it. Returns the digests used.
 * @throws MissingSourceImagePullSecretError, SourceImageNotFoundError, SourceImageAuthFailedError,
 *   SourceImagePullFailedError, SourceImagePathNotFoundError, InvalidSourceImageContentError,
 *   ContextTooManyEntriesError, AbortedError
 */
export async function copyImageSources(o: ImageSourceOptions): Promise<ResolvedSourceImage[]> {
  if (o.images.length === 0) return [];
  const auths = o.images.map((image, i) => imageAuth(image, i, o.credentials));
  let digests = o.recorded ?? (await resolveAll(o, auths));
  if (!o.recorded && o.record) digests = await o.record(digests);
  for (const [i, image] of o.images.entries()) {
    const digest = digests[i]?.digest;
    if (!digest || digests[i]!.from !== image.from)
      throw new SourceImagePullFailedError(
        `source.images[${i}].from: no digest was recorded for ${image.from} (recorded: ${digests.map((d) => d.from).join(', ') || 'none'})`,
      );
    await copyImage(o, i, pinnedReference(image.from, digest), auths[i]);
  }
  return digests;
}

/**
 * The credentials for pulling source image `i`: its pull secret's, when it is for the image's
 * registry; none without a pull secret.
 * @throws MissingSourceImagePullSecretError when the secret it names does not exist.
 */
export function imageAuth(
  image: ClaimedImageSource,
  i: number,
  credentials: ReadonlyMap<string, Credentials>,
): RegistryAuth | undefined {
  if (!image.pullSecret) return undefined;
  const found = credentials.get(image.pullSecret);
  if (!found)
    throw new MissingSourceImagePullSecretError(
      `source.images[${i}].pullSecret: secret "${image.pullSecret}" does not exist in the build's namespace`,
    );
  return found;
}

/** Each image's digest now: the one it names, or its tag's as its registry answers. */
async function resolveAll(o: ImageSourceOptions, auths: (RegistryAuth | undefined)[]): Promise<ResolvedSourceImage[]> {
  const out: ResolvedSourceImage[] = [];
  for (const [i, image] of o.images.entries()) {
    const ref = parseImageReference(image.from);
    if (typeof ref === 'string') throw new SourceImagePullFailedError(`source.images[${i}].from: ${ref}`);
    if (ref.digest) {
      out.push({ from: image.from, digest: ref.digest });
      continue;
    }
    try {
      const digest = await o.runtime.resolveImageDigest(image.from, { auth: authFor(image.from, auths[i]) });
      o.onLine(`Source image ${image.from} is ${digest}`);
      out.push({ from: image.from, digest });
    } catch (err) {
      throw registryFailure(err, o, i, image, auths[i], 'resolving');
    }
  }
  return out;
}

/** Pulls (when needed) and copies every path of image `i`, at `reference` (repository@digest). */
async function copyImage(
  o: ImageSourceOptions,
  i: number,
  reference: string,
  auth: RegistryAuth | undefined,
): Promise<void> {
  const image = o.images[i]!;
  const key = `${o.runtime.endpoint} ${reference}`;
  await o.leases.acquire(key);
  try {
    o.holdImages?.([reference]);
    if (!(await o.runtime.inspectImage(reference))) {
      o.onLine(`Pulling source image ${reference}`);
      // Marked before the pull: a pull cut short may still have left the image.
      o.leases.markPulled(key);
      try {
        await o.runtime.pullImage(reference, { signal: o.signal, auth: authFor(reference, auth) });
      } catch (err) {
        throw registryFailure(err, o, i, image, auth, 'pulling');
      }
    }
    // Made, never started: the archive API reads a created container's filesystem. The command
    // is never run; an image without one (FROM scratch) needs one to be made from.
    const id = await o.runtime.createContainer({
      image: reference,
      cmd: ['/slipway-source-image-copy'],
      labels: o.labels,
    });
    o.onContainer?.(id);
    try {
      for (const [j, p] of image.paths.entries()) await copyPath(o, id, i, j, p);
    } finally {
      await o.runtime.removeContainer(id).catch(() => {});
    }
  } finally {
    await o.leases
      .release(key, async () => {
        await o.runtime.removeImage(reference);
      })
      .catch((err: unknown) => o.onLine(`Could not remove source image ${reference}: ${errorMessage(err)}`));
  }
}

async function copyPath(
  o: ImageSourceOptions,
  container: string,
  i: number,
  j: number,
  p: { sourcePath: string; destinationDir: string },
): Promise<void> {
  const field = `source.images[${i}].paths[${j}]`;
  const from = archivePath(p.sourcePath);
  const dir = await destinationFolder(o.contextDir, p.destinationDir, `${field}.destinationDir`);
  let archive: AsyncIterable<Uint8Array>;
  try {
    archive = await o.runtime.readArchive(container, from, { signal: o.signal });
  } catch (err) {
    if (err instanceof ContainerPathNotFoundError)
      throw new SourceImagePathNotFoundError(`${field}.sourcePath: "${p.sourcePath}" is not in ${o.images[i]!.from}`, {
        cause: err,
      });
    if (o.signal.aborted) throw new AbortedError('build aborted', { cause: err });
    throw err;
  }
  try {
    const { files, bytes } = await extractContext(archive, {
      dir,
      ...o.limits,
      what: `${field}.sourcePath "${p.sourcePath}"`,
    });
    o.onLine(
      `Copied ${p.sourcePath} from ${o.images[i]!.from} into ${p.destinationDir || '.'} (${files} files, ${bytes} bytes)`,
    );
  } catch (err) {
    if (o.signal.aborted) throw new AbortedError('build aborted', { cause: err });
    if (err instanceof InvalidContextError)
      throw new InvalidSourceImageContentError(`${field}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * The path to ask the daemon's archive API for: `sourcePath` as given, except that the image's
 * root ("/", "//") is asked for as "/." (its contents: a folder's name would be "/"). A path
 * ending in "/." is the folder's contents, as `docker cp` and OpenShift read it.
 */
export function archivePath(sourcePath: string): string {
  return /^\/+$/.test(sourcePath) ? '/.' : sourcePath;
}

/**
 * `destinationDir` as components under the context: "", "." and empty components dropped.
 * @throws InvalidSourceImageContentError for an absolute path, "..", or NUL (validation
 *   refuses these when the config is written; a build checks again).
 */
export function destinationParts(destinationDir: string, field: string): string[] {
  if (destinationDir.startsWith('/'))
    throw new InvalidSourceImageContentError(`${field}: "${destinationDir}" must be a relative path`);
  if (destinationDir.includes('\0')) throw new InvalidSourceImageContentError(`${field}: must not contain NUL`);
  const parts = destinationDir.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw new InvalidSourceImageContentError(`${field}: must not contain ".."`);
  return parts;
}

/**
 * The folder `destinationDir` in the context, made where missing. Each component is looked at
 * with lstat and must be a real folder: a link (a git source can hold one to /) or a file on
 * the way is refused, so nothing is ever written outside the context.
 * @throws InvalidSourceImageContentError
 */
export async function destinationFolder(contextDir: string, destinationDir: string, field: string): Promise<string> {
  let at = await realpath(contextDir);
  const parts = destinationParts(destinationDir, field);
  for (const [n, part] of parts.entries()) {
    at = path.join(at, part);
    const shown = parts.slice(0, n + 1).join('/');
    let st = await lstat(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) {
      await mkdir(at, { mode: 0o755 });
      st = await lstat(at);
    }
    if (st.isSymbolicLink()) throw new InvalidSourceImageContentError(`${field}: "${shown}" is a link in the source`);
    if (!st.isDirectory())
      throw new InvalidSourceImageContentError(`${field}: "${shown}" is not a folder in the source`);
  }
  return at;
}

/** What a registry's refusal to resolve or pull a source image means for the build. */
function registryFailure(
  err: unknown,
  o: ImageSourceOptions,
  i: number,
  image: ClaimedImageSource,
  auth: RegistryAuth | undefined,
  doing: 'resolving' | 'pulling',
): BuildFailure | AbortedError {
  if (o.signal.aborted) return new AbortedError('build aborted', { cause: err });
  const field = `source.images[${i}].from`;
  const message = errorMessage(err).trim();
  const status = (err as { statusCode?: number } | null)?.statusCode;
  if (isRegistryAuthRefusal(message)) {
    const how = !image.pullSecret
      ? 'without credentials (no pullSecret)'
      : authFor(image.from, auth)
        ? `with the credentials of pull secret "${image.pullSecret}"`
        : `without credentials (pull secret "${image.pullSecret}" is for registry ${auth?.registry ?? '?'})`;
    return new SourceImageAuthFailedError(`${field}: the registry refused ${image.from} ${how}: ${message}`, {
      cause: err,
    });
  }
  if (status === 404 || /manifest unknown|not found|name unknown|does not exist/i.test(message))
    return new SourceImageNotFoundError(`${field}: ${image.from} is not in its registry: ${message}`, { cause: err });
  return new SourceImagePullFailedError(`${field}: ${doing} ${image.from} failed: ${message}`, { cause: err });
}
