import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import { SubmoduleFetchFailedError } from '../build-failures.js';
import { classify, runGit, type FetchOptions } from './git-source.js';

/**
 * Checks out the submodules of the commit checked out in `o.dir`, recursively: nothing (and no
 * git process) when it has no .gitmodules. Relative URLs are resolved against `o.uri` (set as
 * the checkout's `origin`, which the main fetch does without). Each submodule is fetched at
 * depth 1; when a server will not serve a recorded commit by itself, the submodules are
 * started over with whole histories. The credentials in `env` reach only the source's own host (credentialEnv).
 * @returns the submodules checked out, nested ones included (outer ones first)
 * @throws SubmoduleFetchFailedError naming the submodule's path, AbortedError
 */
export async function updateSubmodules(o: FetchOptions, env: Record<string, string>): Promise<CheckedOutSubmodule[]> {
  if (!(await exists(path.join(o.dir, '.gitmodules')))) return [];
  await runGit(['-C', o.dir, 'config', 'remote.origin.url', o.uri], o, env);
  const update = (depth: string[]) =>
    runGit(['-C', o.dir, 'submodule', 'update', '--init', '--recursive', ...depth], o, env, {
      failure: submoduleFailure,
    });
  o.onOutput?.('Fetching submodules');
  try {
    await update(['--depth=1']);
  } catch (err) {
    if (!(err instanceof SubmoduleFetchFailedError) || !err.commitNotServed) throw err;
    o.onOutput?.('The server would not serve a submodule commit by itself: fetching whole histories');
    // The shallow clones stay shallow on a second update: start the submodules over.
    await runGit(['-C', o.dir, 'submodule', 'deinit', '--all', '--force', '--quiet'], o, env);
    await rm(path.join(o.dir, '.git', 'modules'), { recursive: true, force: true });
    await update([]);
  }
  return checkedOutSubmodules(o, env);
}

/** A submodule checked out: its path from the top of the checkout, and the URL it was fetched from. */
export interface CheckedOutSubmodule {
  path: string;
  url: string;
}

/** The submodules checked out in `o.dir`, nested ones included (outer ones first). */
async function checkedOutSubmodules(o: FetchOptions, env: Record<string, string>): Promise<CheckedOutSubmodule[]> {
  const out = await runGit(
    [
      '-C',
      o.dir,
      'submodule',
      'foreach',
      '--quiet',
      '--recursive',
      `printf '%s\\0%s\\0' "$displaypath" "$(git config --get remote.origin.url)"`,
    ],
    o,
    env,
  );
  const fields = out.split('\0');
  const found: CheckedOutSubmodule[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) found.push({ path: fields[i]!, url: fields[i + 1]! });
  return found;
}

/** git's complaint about a submodule as the failure naming it; its URL is shown without any user info. */
function submoduleFailure(stderr: string, o: FetchOptions): Error {
  const sub =
    /submodule path '([^']+)'/.exec(stderr)?.[1] ??
    /Failed to clone '([^']+)'/.exec(stderr)?.[1] ??
    /Unable to fetch in submodule path '([^']+)'/.exec(stderr)?.[1];
  const where = sub ? `submodule "${path.isAbsolute(sub) ? path.relative(o.dir, sub) : sub}"` : 'a submodule';
  const url = /(?:clone of|from|fetch from) '([^']+)'/.exec(stderr)?.[1];
  const commit = /did not contain ([0-9a-f]{40,64})/.exec(stderr)?.[1];
  const shown = url ? redact(url) : 'its repository';
  const notServed = /did not contain|not our ref|unadvertised object/i.test(stderr);
  const why = commit
    ? `its recorded commit ${commit} is not in ${shown}`
    : classify(stderr, { uri: shown, credentials: o.credentials }).message;
  const text = redact(why).split(`${o.dir}/`).join(''); // paths as in the repository, not the agent's disk
  const err = new SubmoduleFetchFailedError(`${where} of ${o.uri} could not be fetched: ${text}`);
  err.commitNotServed = notServed;
  return err;
}

/** A URL or message without user info (user:password@) in any URL it holds. */
export function redact(text: string): string {
  return text.replace(/(\w+:\/\/)[^/@\s']+@/g, '$1***@');
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
