import { readdir, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { CachedBlob } from './eviction.js';

/**
 * The cache's view of docker-registry 2.8's filesystem storage (`storage.filesystem` at
 * `<root>/storage`): content lives in `docker/registry/v2/blobs/sha256/<ab>/<hex>/data`,
 * repositories hold only links (`_layers/…/link`, `_manifests/revisions/…/link`).
 *
 * A blob's last access is its data file's mtime: the registry sets it when it stores the blob,
 * and the front sets it again every time it serves it (`touch`), so it survives restarts.
 */
export class CacheStorage {
  constructor(readonly storageRoot: string) {}

  private get v2(): string {
    return path.join(this.storageRoot, 'docker', 'registry', 'v2');
  }

  /** The folder of the blob `digest` ("sha256:<hex>"), or undefined for a digest of another kind. */
  blobFolder(digest: string): string | undefined {
    const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
    return m ? path.join(this.v2, 'blobs', 'sha256', m[1]!.slice(0, 2), m[1]!) : undefined;
  }

  /** Whether the blob's content is stored here (a pull of it is served without the upstream). */
  async hasBlob(digest: string): Promise<boolean> {
    const folder = this.blobFolder(digest);
    return (
      folder !== undefined &&
      (await stat(path.join(folder, 'data')).then(
        (s) => s.isFile(),
        () => false,
      ))
    );
  }

  /** Marks the blob as used now. A blob that is not (or no longer) there is no error. */
  async touch(digest: string, at = new Date()): Promise<void> {
    const folder = this.blobFolder(digest);
    if (folder) await utimes(path.join(folder, 'data'), at, at).catch(() => {});
  }

  /**
   * Every stored blob with its size and last access. Manifests (any digest a repository lists
   * under `_manifests/revisions`) are marked so: eviction must leave them, since the registry
   * answers a manifest it has a revision link for from its own storage.
   */
  async blobs(): Promise<CachedBlob[]> {
    const manifests = await this.manifestDigests();
    const out: CachedBlob[] = [];
    const base = path.join(this.v2, 'blobs', 'sha256');
    for (const prefix of await readdir(base).catch(() => [] as string[])) {
      for (const hex of await readdir(path.join(base, prefix)).catch(() => [] as string[])) {
        const s = await stat(path.join(base, prefix, hex, 'data')).catch(() => undefined);
        if (!s?.isFile()) continue;
        const digest = `sha256:${hex}`;
        out.push({ digest, size: s.size, lastAccessMs: s.mtimeMs, kind: manifests.has(digest) ? 'manifest' : 'blob' });
      }
    }
    return out;
  }

  /**
   * Removes a blob's content. The repositories' links to it stay: the registry treats a link to
   * missing content as a miss and fetches the blob from the upstream again, re-storing it.
   */
  async removeBlob(digest: string): Promise<void> {
    const folder = this.blobFolder(digest);
    if (folder) await rm(folder, { recursive: true, force: true });
  }

  /** Digests of every manifest revision in every repository (names may nest: library/busybox). */
  private async manifestDigests(): Promise<Set<string>> {
    const digests = new Set<string>();
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (!entry.isDirectory()) continue;
        if (entry.name === '_manifests') {
          const revisions = path.join(dir, entry.name, 'revisions', 'sha256');
          for (const hex of await readdir(revisions).catch(() => [] as string[])) digests.add(`sha256:${hex}`);
        } else if (!entry.name.startsWith('_')) {
          await walk(path.join(dir, entry.name));
        }
      }
    };
    await walk(path.join(this.v2, 'repositories'));
    return digests;
  }
}
