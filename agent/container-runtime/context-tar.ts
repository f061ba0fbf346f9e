import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import tar from 'tar-fs';

// A CommonJS module whose typings claim an ES default export: loaded as what it is.
const dockerignore = createRequire(import.meta.url)(
  '@balena/dockerignore',
) as typeof import('@balena/dockerignore').default;

/**
 * The build context as the daemon gets it: the folder as a tar stream, less the repository's
 * history (`.git` at the top) and what its `.dockerignore` excludes, as `docker build` sends it.
 * The Dockerfile and `.dockerignore` themselves always go (BuildKit reads both from the context).
 * With `owner`, every entry is owned by it (a remapped daemon's root, whose BuildKit copies the
 * context's owners as they are: files of the node's root would be `nobody` in the build).
 */
export async function contextTar(
  dir: string,
  dockerfile: string,
  owner?: { uid: number; gid: number },
): Promise<NodeJS.ReadableStream> {
  const patterns = await readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const ig = dockerignore({ ignorecase: false }).add(patterns);
  // A pattern with `!` may take back a file inside an excluded folder: then folders are walked
  // and only files judged.
  const reincludes = /^\s*!/m.test(patterns);
  const always = new Set(['.dockerignore', path.posix.normalize(dockerfile.split(path.sep).join('/'))]);
  const pack = tar.pack(dir, {
    ignore: (name) => {
      const rel = path.relative(dir, name).split(path.sep).join('/');
      if (rel === '.git' || rel.startsWith('.git/')) return true;
      if (!patterns || always.has(rel)) return false;
      if (reincludes && lstatSync(name, { throwIfNoEntry: false })?.isDirectory()) return false;
      return ig.ignores(rel);
    },
    ...(owner ? { map: (header: tar.Headers) => ({ ...header, uid: owner.uid, gid: owner.gid }) } : {}),
  });
  return pack as unknown as NodeJS.ReadableStream;
}
