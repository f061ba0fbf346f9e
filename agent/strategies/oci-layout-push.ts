import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import type { CanonicalImage } from '../../common/image-reference.js';
import { errorMessage } from '../../common/errors.js';
import { contentDigest } from '../../common/registry-client.js';
import { BuildFailure } from '../build-failures.js';
import { RegistryPush } from '../container-runtime/registry-push.js';
import type { RegistryAuth } from '../container-runtime/types.js';

/** The builder's OCI image layout cannot be pushed as it is (no single image manifest, a missing blob). */
export class InvalidOutputLayoutError extends BuildFailure {
  readonly reason = 'InvalidOutputLayout';
  readonly phase = 'Failed';
}

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);

/** The files of an OCI image layout that are read: index.json and blobs/sha256/<hex>; the rest is skipped. */
const LAYOUT_FILE = /^(?:index\.json|oci-layout|blobs\/sha256\/[0-9a-f]{64})$/;

/**
 * Unpacks the tar of an OCI image layout folder (as the archive API gives `dir/.`) into `dir`,
 * keeping only index.json, oci-layout and blobs/sha256/<hex> (names checked, so nothing lands
 * outside `dir`). Returns whether an index.json was there.
 */
export async function unpackLayout(tar: AsyncIterable<Uint8Array>, dir: string): Promise<boolean> {
  const input = extract();
  let index = false;
  const done = (async () => {
    for await (const entry of input) {
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      if (entry.header.type === 'file' && LAYOUT_FILE.test(name)) {
        await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await pipeline(entry, createWriteStream(path.join(dir, name)));
        if (name === 'index.json') index = true;
      } else entry.resume();
    }
  })();
  await pipeline(tar, input).catch((err: unknown) => {
    throw new InvalidOutputLayoutError(`reading the output layout failed: ${errorMessage(err)}`, { cause: err });
  });
  await done;
  return index;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

/**
 * Pushes the one image of the OCI layout in `dir` to `image` (its tag): each blob the registry
 * lacks (config, layers), then the manifest, with `auth` (Basic, or a Bearer token for push).
 * Returns the manifest's digest as pushed.
 * @throws InvalidOutputLayoutError, RegistryAuthFailedError, PushImageFailedError
 */
export async function pushLayout(
  dir: string,
  image: CanonicalImage,
  auth: RegistryAuth | undefined,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<string> {
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8').catch(() => '{}')) as {
    manifests?: Descriptor[];
  };
  const manifests = (index.manifests ?? []).filter((m) => !m.mediaType || MANIFEST_TYPES.has(m.mediaType));
  if (manifests.length !== 1)
    throw new InvalidOutputLayoutError(
      `the output layout's index.json names ${manifests.length} image manifests; exactly one is pushed`,
    );
  const desc = manifests[0]!;
  const manifestBytes = await blob(dir, desc.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    mediaType?: string;
    config?: Descriptor;
    layers?: Descriptor[];
  };
  if (!manifest.config) throw new InvalidOutputLayoutError(`manifest ${desc.digest} names no config`);
  const blobs = [];
  for (const b of [manifest.config, ...(manifest.layers ?? [])]) {
    const file = blobPath(dir, b.digest);
    const size = await stat(file).then(
      (s) => s.size,
      () => {
        throw new InvalidOutputLayoutError(`the output layout lacks blob ${b.digest}`);
      },
    );
    blobs.push({ digest: b.digest, size, file });
  }
  const mediaType = desc.mediaType ?? manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
  await new RegistryPush(image, auth, signal).pushImage(
    blobs,
    { reference: image.tag, mediaType, bytes: manifestBytes },
    onLine,
  );
  return contentDigest(manifestBytes);
}

function blobPath(dir: string, digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new InvalidOutputLayoutError(`"${digest}" is not a sha256 digest`);
  return path.join(dir, 'blobs', 'sha256', m[1]!);
}

async function blob(dir: string, digest: string): Promise<Buffer> {
  const bytes = await readFile(blobPath(dir, digest)).catch(() => {
    throw new InvalidOutputLayoutError(`the output layout lacks blob ${digest}`);
  });
  if (contentDigest(bytes) !== digest)
    throw new InvalidOutputLayoutError(`blob ${digest} of the output layout does not match its digest`);
  return bytes;
}
