import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { RegistryPush } from '../../agent/container-runtime/registry-push.js';
import { run } from './processes.js';
import { tarball } from './tarball.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** The platforms a multi-platform base image holds. */
export const BASE_PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;
export type BasePlatform = (typeof BASE_PLATFORMS)[number];

/** One platform's image of a multi-platform base. */
export interface PlatformImage {
  /** registry/repository:<arch>: its own tag. */
  reference: string;
  /** Its image manifest's digest. */
  digest: string;
  /** The uncompressed digests of its layers (its config's rootfs.diff_ids): one. */
  diffIds: string[];
  /** What its /platform file holds: its architecture, e.g. "arm64\n". */
  marker: string;
}

/** A base image of two platforms in a registry: an OCI image index naming both at one tag. */
export interface MultiPlatformImage {
  /** registry/repository:tag of the index. */
  reference: string;
  /** The index's digest. */
  digest: string;
  platforms: Record<BasePlatform, PlatformImage>;
}

/**
 * Pushes a small base image of linux/amd64 and linux/arm64 to `repository` (registry/repository,
 * a registry over plain HTTP with no auth): each platform's image (a one-layer rootfs of
 * /platform, holding its architecture, and /hello) at its own tag (`amd64`, `arm64`), then an
 * OCI image index naming both at `tag`. Returns where each is.
 *
 * The images are made here (layer, config, manifest) and put with the Registry HTTP API:
 * `docker import --platform linux/arm64` on dockerd 20.10 records the daemon's own architecture
 * in the config whatever it is asked, so an imported image would not be arm64.
 */
export async function pushMultiPlatformBase(repository: string, tag = 'multi'): Promise<MultiPlatformImage> {
  const slash = repository.indexOf('/');
  const target = { registry: repository.slice(0, slash), repository: repository.slice(slash + 1) };
  const registry = new RegistryPush(target, undefined, AbortSignal.timeout(60_000));
  const put = async (bytes: Buffer) => {
    const digest = sha256(bytes);
    if (!(await registry.hasBlob(digest))) await registry.putBlob(digest, new Blob([new Uint8Array(bytes)]));
    return { digest, size: bytes.length };
  };

  const platforms = {} as Record<BasePlatform, PlatformImage>;
  const index: { mediaType: string; digest: string; size: number; platform: { os: string; architecture: string } }[] =
    [];
  for (const platform of BASE_PLATFORMS) {
    const [os, architecture] = platform.split('/') as [string, string];
    const marker = `${architecture}\n`;
    const layerTar = await tarball([
      { name: 'platform', content: marker },
      { name: 'hello', content: `hello from ${platform}\n` },
    ]);
    const diffId = sha256(layerTar);
    const layer = await put(gzipSync(layerTar));
    const config = await put(
      Buffer.from(
        JSON.stringify({
          created: '2026-01-01T00:00:00Z',
          architecture,
          os,
          config: { Cmd: ['/hello'] },
          rootfs: { type: 'layers', diff_ids: [diffId] },
          history: [{ created: '2026-01-01T00:00:00Z', comment: `test base for ${platform}` }],
        }),
      ),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    );
    await registry.putManifest(architecture, OCI_MANIFEST, manifest);
    const digest = sha256(manifest);
    platforms[platform] = { reference: `${repository}:${architecture}`, digest, diffIds: [diffId], marker };
    index.push({ mediaType: OCI_MANIFEST, digest, size: manifest.length, platform: { os, architecture } });
  }
  const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: index }));
  await registry.putManifest(tag, OCI_INDEX, indexBytes);
  return { reference: `${repository}:${tag}`, digest: sha256(indexBytes), platforms };
}

/** `skopeo inspect` of an image in a registry over plain HTTP: what it printed; rejects with its output when it fails. */
export function skopeoInspect(...args: string[]): Promise<string> {
  return run('skopeo', ['inspect', '--tls-verify=false', ...args]);
}

/** `skopeo copy` of an image from a registry over plain HTTP to `destination` (e.g. `dir:/path`). */
export function skopeoCopy(source: string, destination: string): Promise<string> {
  return run('skopeo', ['copy', '--src-tls-verify=false', source, destination]);
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
