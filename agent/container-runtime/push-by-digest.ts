import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { canonicalImage } from '../../common/image-reference.js';
import { errorMessage, isAbortError } from '../../common/errors.js';
import { contentDigest } from '../../common/registry-client.js';
import { AgentInternalError } from '../build-failures.js';
import { RegistryPush, RegistryPushFailedError } from './registry-push.js';
import type { ContainerRuntime, RegistryAuth } from './types.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** A blob of the image as it is pushed: its digest and size, and the file holding its bytes. */
export interface PushedBlob {
  digest: string;
  size: number;
  file: string;
}

/** An image made ready to push: the OCI image manifest's exact bytes and digest, and its blobs. */
export interface OciImage {
  manifest: Buffer;
  /** sha256 of `manifest`: what the registry stores it under. */
  digest: string;
  config: PushedBlob;
  /** Each layer gzip-compressed, in the image's order. */
  layers: PushedBlob[];
}

/** A push is made this many times at most when the registry's failure is one worth another try. */
const PUSH_TRIES = 3;

export interface PushByDigestOptions {
  runtime: ContainerRuntime;
  /** The built image in the daemon (its id, or its local tag), as `docker save` names it. */
  image: string;
  /** registry/repository pushed to, no tag: nothing but the manifest's digest names what is pushed. */
  repository: string;
  /** os/arch[/variant] the image was built for: for the log. */
  platform: string;
  /** The push secret's credentials; undefined: none. */
  auth?: RegistryAuth;
  /** Registries spoken to over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** A folder of the build's own; the image is read out into a folder made in it, removed after. */
  workDir: string;
  onLine: (line: string) => void;
  signal: AbortSignal;
}

/**
 * Pushes the image `image` of the daemon to `repository` by digest, tagging nothing: the image
 * is read out of the daemon (`docker save`), made an OCI image manifest with gzip-compressed
 * layers, and its config and layers (those the registry lacks) and then the manifest are put
 * with the Registry HTTP API (`PUT /v2/<repository>/manifests/<digest>`). A failure worth
 * another try (RegistryPushFailedError.transient) is tried again, after 1 s then 2 s. Returns the
 * manifest's digest (the sha256 of the bytes pushed).
 * @throws RegistryAuthFailedError, PushImageFailedError (RegistryPushFailedError) from the
 *   registry; AgentInternalError when the daemon's archive of the image cannot be read.
 */
export async function pushByDigest(o: PushByDigestOptions): Promise<string> {
  const target = canonicalImage(o.repository);
  if (typeof target === 'string') throw new AgentInternalError(`pushByDigest: ${target}`);
  o.onLine(`Pushing ${o.platform} image of ${o.repository} by digest`);
  const dir = await mkdtemp(path.join(o.workDir, 'push-by-digest-'));
  try {
    const image = await ociImageFromArchive(o.runtime.saveImage(o.image, { signal: o.signal }), dir);
    const registry = new RegistryPush(target, o.auth, o.signal, o.insecureRegistries);
    for (let tryNo = 1; ; tryNo++) {
      try {
        await registry.pushImage(
          [image.config, ...image.layers],
          { reference: image.digest, mediaType: OCI_MANIFEST, bytes: image.manifest },
          o.onLine,
        );
        return image.digest;
      } catch (err) {
        const again =
          tryNo < PUSH_TRIES && !o.signal.aborted && err instanceof RegistryPushFailedError && err.transient;
        if (!again) throw err;
        o.onLine(`Pushing ${o.repository}@${image.digest} failed (${err.message}); trying again`);
        await sleep(1000 * tryNo, undefined, { signal: o.signal }).catch(() => undefined);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** One image of `docker save`'s manifest.json; the paths are inside the archive. */
interface SavedImage {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * The image of a `docker save` archive (`tar`) as an OCI image, its files in `dir`: the config
 * as saved, and each layer gzip-compressed while its sha256 and size are taken (one streaming
 * pass, checked against the config's diff_ids). Whatever the daemon's layout (dockerd 20.10's
 * `<id>/layer.tar`, or ≥ 25's `blobs/sha256/<hex>`), only manifest.json's paths are followed.
 * The manifest is serialised once: `manifest` holds the bytes to push.
 * @throws AgentInternalError when the archive is not one image as `docker save` writes it.
 */
export async function ociImageFromArchive(tar: AsyncIterable<Uint8Array>, dir: string): Promise<OciImage> {
  const files = await unpackArchive(tar, path.join(dir, 'archive'));
  const manifestFile = files.get('manifest.json');
  if (!manifestFile) throw archiveError('it has no manifest.json');
  let saved: SavedImage[];
  try {
    saved = JSON.parse(await readFile(manifestFile, 'utf8')) as SavedImage[];
  } catch (err) {
    throw archiveError(`its manifest.json is not JSON: ${errorMessage(err)}`, err);
  }
  if (!Array.isArray(saved) || saved.length !== 1)
    throw archiveError(`its manifest.json names ${Array.isArray(saved) ? saved.length : 'no'} images, not one`);
  const { Config: configPath, Layers: layerPaths } = saved[0]!;
  if (typeof configPath !== 'string' || !Array.isArray(layerPaths))
    throw archiveError('its manifest.json names no Config and Layers');
  const find = (name: string) => {
    const file = files.get(path.posix.normalize(name));
    if (!file) throw archiveError(`it lacks ${name}, which its manifest.json names`);
    return file;
  };

  const configFile = find(configPath);
  const configBytes = await readFile(configFile);
  const config = { digest: contentDigest(configBytes), size: configBytes.length, file: configFile };
  let diffIds: string[] | undefined;
  try {
    diffIds = (JSON.parse(configBytes.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids;
  } catch (err) {
    throw archiveError(`its config ${configPath} is not JSON: ${errorMessage(err)}`, err);
  }
  if (diffIds?.length !== layerPaths.length)
    throw archiveError(`its config names ${diffIds?.length ?? 0} layers, its manifest.json ${layerPaths.length}`);

  await mkdir(path.join(dir, 'layers'));
  const layers: PushedBlob[] = [];
  // A layer the image holds twice (docker save links the second to the first) is compressed once.
  const compressed = new Map<string, Awaited<ReturnType<typeof compressLayer>>>();
  for (const [i, name] of layerPaths.entries()) {
    const file = find(name);
    const layer = compressed.get(file) ?? (await compressLayer(file, path.join(dir, 'layers', `${i}.tar.gz`)));
    compressed.set(file, layer);
    if (layer.diffId !== diffIds[i])
      throw archiveError(`layer ${name} is ${layer.diffId}, but the config's diff_ids[${i}] is ${diffIds[i]}`);
    layers.push({ digest: layer.digest, size: layer.size, file: layer.file });
  }

  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.size })),
    }),
  );
  return { manifest, digest: contentDigest(manifest), config, layers };
}

/**
 * Writes each regular file of the archive to `dir` under a name of its own (a number: no name
 * in the archive decides where anything lands) and returns where each path of the archive is,
 * links (a layer `docker save` found twice) resolved to their targets' files.
 */
async function unpackArchive(tar: AsyncIterable<Uint8Array>, dir: string): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const files = new Map<string, string>();
  const links: { name: string; target: string }[] = [];
  const input = extract();
  const done = (async () => {
    for await (const entry of input) {
      const { type, linkname } = entry.header;
      const name = path.posix.normalize(entry.header.name.replace(/^(\.\/)+/, ''));
      if (type === 'file') {
        const file = path.join(dir, String(files.size));
        files.set(name, file);
        await pipeline(entry, createWriteStream(file));
        continue;
      }
      // A symlink's target is relative to its folder; a hard link's to the archive's root.
      if (type === 'symlink' && linkname)
        links.push({ name, target: path.posix.join(path.posix.dirname(name), linkname) });
      else if (type === 'link' && linkname) links.push({ name, target: path.posix.normalize(linkname) });
      entry.resume();
    }
  })().catch((err: unknown) => {
    input.destroy(err as Error); // ends the read of the archive too
    throw err;
  });
  try {
    await Promise.all([pipeline(tar, input), done]);
  } catch (err) {
    if (err instanceof AgentInternalError || isAbortError(err)) throw err;
    throw archiveError(`reading it failed: ${errorMessage(err)}`, err);
  }
  for (const { name, target } of links) {
    const file = files.get(target);
    if (file) files.set(name, file);
  }
  return files;
}

/**
 * Gzips the layer tar `src` into `dest` in one streaming pass, hashing the bytes on both sides:
 * the compressed blob's digest and size (what the manifest names), and the uncompressed tar's
 * digest (the config's diff_id).
 */
async function compressLayer(
  src: string,
  dest: string,
): Promise<{ digest: string; size: number; diffId: string; file: string }> {
  const raw = createHash('sha256');
  const compressed = createHash('sha256');
  let size = 0;
  await pipeline(
    createReadStream(src),
    hashing(raw),
    createGzip(),
    hashing(compressed, (n) => (size += n)),
    createWriteStream(dest),
  );
  return { digest: `sha256:${compressed.digest('hex')}`, size, diffId: `sha256:${raw.digest('hex')}`, file: dest };
}

/** A pass-through that feeds every chunk to `hash` (and its length to `count`). */
function hashing(hash: Hash, count?: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      count?.(chunk.length);
      callback(null, chunk);
    },
  });
}

function archiveError(problem: string, cause?: unknown): AgentInternalError {
  return new AgentInternalError(`the daemon's archive of the built image cannot be pushed: ${problem}`, { cause });
}
