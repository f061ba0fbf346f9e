import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GitLfsFetchFailedError, GitLfsUnavailableError } from '../build-failures.js';
import { runGit, withConfig, type FetchOptions } from './git-source.js';
import { redact, type CheckedOutSubmodule } from './git-submodules.js';

const POINTER = '^version https://git-lfs.github.com/spec/v1$';
const SHOWN = 5;

/**
 * Replaces the Git LFS pointer files of the checkout in `o.dir`, and of each of its checked-out
 * `submodules`, with their content, with `git-lfs pull` and the source's credentials (which
 * reach only the source's own host). A checkout whose .gitattributes files name no LFS filter
 * costs a file read and a git grep.
 * @throws GitLfsUnavailableError (pointers found, no git-lfs to run), GitLfsFetchFailedError
 *   (git-lfs failed, an LFS endpoint on the local disk, or pointers left after it ran), AbortedError
 */
export async function pullLfsFiles(
  o: FetchOptions,
  env: Record<string, string>,
  submodules: readonly CheckedOutSubmodule[] = [],
): Promise<void> {
  await pullLfsFilesOf(o, env, o.uri, '');
  for (const sub of submodules) {
    const checkout = { ...o, dir: path.join(o.dir, sub.path), uri: sub.url };
    await pullLfsFilesOf(checkout, env, `submodule "${sub.path}" (${redact(sub.url)}) of ${o.uri}`, `${sub.path}/`);
  }
}

/**
 * pullLfsFiles for the one checkout in `o.dir` (fetched from `o.uri`), named `named` in errors,
 * its files listed with `prefix` (their path from the top of the build's checkout).
 */
async function pullLfsFilesOf(
  o: FetchOptions,
  env: Record<string, string>,
  named: string,
  prefix: string,
): Promise<void> {
  if (!(await tracksLfsFiles(o, env))) return;
  const pointers = (await pointerFiles(o, env)).map((f) => prefix + f);
  if (pointers.length === 0) return;
  const lfsConfig = await readFile(path.join(o.dir, '.lfsconfig'), 'utf8').catch(() => '');
  // git-lfs reads file:// endpoints itself: from a repository's .lfsconfig that is the node's disk.
  if (/=\s*"?file:/i.test(lfsConfig))
    throw new GitLfsFetchFailedError(`${named}: its .lfsconfig names a local (file:) LFS endpoint, which is refused`);
  const binary = o.gitLfs ?? 'git-lfs';
  o.onOutput?.(`Fetching the content of ${pointers.length} LFS file(s)${prefix ? ` in ${prefix}` : ''} with ${binary}`);
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
        `${named} has ${pointers.length} Git LFS file(s) (${listed(pointers)}) and this agent cannot run git-lfs (${binary}: ${err.message}): install git-lfs on the agent, or build without those files`,
        { cause: err },
      ),
    failure: (stderr) =>
      new GitLfsFetchFailedError(
        `git-lfs could not fetch the content of ${pointers.length} LFS file(s) of ${named}: ${lastLines(stderr)}`,
      ),
  });
  const left = (await pointerFiles(o, env)).map((f) => prefix + f);
  if (left.length > 0)
    throw new GitLfsFetchFailedError(
      `${left.length} LFS file(s) of ${named} are still pointers after git-lfs pull (${listed(left)})`,
    );
}

/**
 * Whether a .gitattributes of the checkout (the top-level one, read first as the common case, or
 * one below it: git grep, a few ms) names the LFS filter.
 */
async function tracksLfsFiles(o: FetchOptions, env: Record<string, string>): Promise<boolean> {
  const top = await readFile(path.join(o.dir, '.gitattributes'), 'utf8').catch(() => '');
  if (/filter=lfs/.test(top)) return true;
  const below = await runGit(['-C', o.dir, 'grep', '-l', '-e', 'filter=lfs', '--', '*.gitattributes'], o, env, {
    okCodes: [1],
  });
  return below.trim() !== '';
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
