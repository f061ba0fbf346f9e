import { access } from 'node:fs/promises';
import path from 'node:path';
import { SubmoduleFetchFailedError } from '../build-failures.js';
import { classify, runGit, type FetchOptions } from './git-source.js';

/**
 * Checks out the submodules of the commit checked out in `o.dir`, recursively: nothing (and no
 * git process) when it has no .gitmodules. Relative URLs are resolved against `o.uri` (set as
 * the checkout's `origin`, which the main fetch does without). Each submodule is fetched at
 * depth 1; a server that will not serve its recorded commit by itself is asked again for its
 * whole history. The credentials in `env` reach only the source's own host (credentialEnv).
 * @throws SubmoduleFetchFailedError naming the submodule's path, AbortedError
 */
export async function updateSubmodules(o: FetchOptions, env: Record<string, string>): Promise<void> {
  if (!(await exists(path.join(o.dir, '.gitmodules')))) return;
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
    o.onOutput?.('The server would not serve a submodule commit by itself: fetching its whole history');
    await update([]);
  }
}

/** git's complaint about a submodule as the failure naming it; its URL is shown without any user info. */
function submoduleFailure(stderr: string, o: FetchOptions): Error {
  const sub =
    /submodule path '([^']+)'/.exec(stderr)?.[1] ??
    /Failed to clone '([^']+)'/.exec(stderr)?.[1] ??
    /Unable to fetch in submodule path '([^']+)'/.exec(stderr)?.[1];
  const where = sub ? `submodule "${path.isAbsolute(sub) ? path.relative(o.dir, sub) : sub}"` : 'a submodule';
  const url = /(?:clone of|from|fetch from) '([^']+)'/.exec(stderr)?.[1];
  const cause = classify(stderr, { uri: url ? redact(url) : 'its repository', credentials: o.credentials });
  const notServed = /did not contain|not our ref|unadvertised object|upload-pack: not our ref/i.test(stderr);
  const err = new SubmoduleFetchFailedError(`${where} of ${o.uri} could not be fetched: ${redact(cause.message)}`);
  err.commitNotServed = notServed;
  return err;
}

/** A URL or message without user info (user:password@) in any URL it holds. */
function redact(text: string): string {
  return text.replace(/(\w+:\/\/)[^/@\s']+@/g, '$1***@');
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
