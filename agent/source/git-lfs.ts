import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GitLfsFetchFailedError, GitLfsUnavailableError } from '../build-failures.js';
import { runGit, withConfig, type FetchOptions } from './git-source.js';

const POINTER = '^version https://git-lfs.github.com/spec/v1$';
const SHOWN = 5;

/**
 * Replaces the Git LFS pointer files of the checkout in `o.dir` with their content, with
 * `git-lfs pull` and the source's credentials (which reach only the source's own host). Costs
 * nothing but a file read for a repository whose top-level .gitattributes names no LFS filter.
 * Pointers in submodules are not looked for.
 * @throws GitLfsUnavailableError (pointers found, no git-lfs to run), GitLfsFetchFailedError
 *   (git-lfs failed, an LFS endpoint on the local disk, or pointers left after it ran), AbortedError
 */
export async function pullLfsFiles(o: FetchOptions, env: Record<string, string>): Promise<void> {
  const attributes = await readFile(path.join(o.dir, '.gitattributes'), 'utf8').catch(() => '');
  if (!/filter=lfs/.test(attributes)) return;
  const pointers = await pointerFiles(o, env);
  if (pointers.length === 0) return;
  const lfsConfig = await readFile(path.join(o.dir, '.lfsconfig'), 'utf8').catch(() => '');
  // git-lfs reads file:// endpoints itself: from a repository's .lfsconfig that is the node's disk.
  if (/=\s*"?file:/i.test(lfsConfig))
    throw new GitLfsFetchFailedError(`${o.uri}: its .lfsconfig names a local (file:) LFS endpoint, which is refused`);
  const binary = o.gitLfs ?? 'git-lfs';
  o.onOutput?.(`Fetching the content of ${pointers.length} LFS file(s) with ${binary}`);
  if (!(await hasRemote(o, env))) await runGit(['-C', o.dir, 'config', 'remote.origin.url', o.uri], o, env);
  // git-lfs checks files out only where its filter is configured; here, for this command alone.
  const shellQuoted = `'${binary.replace(/'/g, "'\\''")}'`;
  const filter = withConfig(env, [
    ['filter.lfs.process', `${shellQuoted} filter-process`],
    ['filter.lfs.smudge', `${shellQuoted} smudge -- %f`],
    ['filter.lfs.clean', `${shellQuoted} clean -- %f`],
    ['filter.lfs.required', 'true'],
  ]);
  await runGit(['pull', 'origin'], o, filter, {
    command: binary,
    cwd: o.dir,
    notRunnable: (err) =>
      new GitLfsUnavailableError(
        `${o.uri} has ${pointers.length} Git LFS file(s) (${listed(pointers)}) and this agent cannot run git-lfs (${binary}: ${err.message}): install git-lfs on the agent, or build without those files`,
        { cause: err },
      ),
    failure: (stderr) =>
      new GitLfsFetchFailedError(
        `git-lfs could not fetch the content of ${pointers.length} LFS file(s) of ${o.uri}: ${lastLines(stderr)}`,
      ),
  });
  const left = await pointerFiles(o, env);
  if (left.length > 0)
    throw new GitLfsFetchFailedError(
      `${left.length} LFS file(s) of ${o.uri} are still pointers after git-lfs pull (${listed(left)})`,
    );
}

/** Tracked files whose content is an LFS pointer (git grep: exit 1 is "none"). */
async function pointerFiles(o: FetchOptions, env: Record<string, string>): Promise<string[]> {
  const out = await runGit(['-C', o.dir, 'grep', '-z', '-l', '-I', '-e', POINTER, '--'], o, env, { okCodes: [1] });
  return out.split('\0').filter(Boolean);
}

async function hasRemote(o: FetchOptions, env: Record<string, string>): Promise<boolean> {
  const out = await runGit(['-C', o.dir, 'config', '--get', 'remote.origin.url'], o, env, { okCodes: [1] });
  return out.trim() !== '';
}

function listed(files: string[]): string {
  return files.slice(0, SHOWN).join(', ') + (files.length > SHOWN ? `, and ${files.length - SHOWN} more` : '');
}

function lastLines(stderr: string): string {
  return stderr.trim().split('\n').filter(Boolean).slice(-3).join(' ').replace(/\s+/g, ' ');
}
