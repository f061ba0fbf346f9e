import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import dockerignore from '@balena/dockerignore';
import { pack } from 'tar-fs';

/**
 * A folder as a gzipped tar stream, less what its .dockerignore excludes (with Docker's own
 * matching rules). The Dockerfile and .dockerignore are always sent, as the Docker CLI does.
 */
export async function packContextDir(dir: string): Promise<AsyncIterable<Uint8Array>> {
  const rules = await readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => '');
  // The package is CommonJS exporting the factory itself, while its types declare a default export.
  const factory = ((dockerignore as unknown as { default?: unknown }).default ??
    dockerignore) as unknown as typeof dockerignore.default;
  const ig = factory({ ignorecase: false }).add(rules);
  const always = new Set(['Dockerfile', '.dockerignore']);
  const stream = pack(dir, {
    ignore: (name: string) => {
      const rel = path.relative(dir, name).split(path.sep).join('/');
      return rel !== '' && !always.has(rel) && ig.ignores(rel);
    },
  });
  return stream.pipe(createGzip()) as unknown as AsyncIterable<Uint8Array>;
}
