import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AbortedError } from '../../common/errors.js';
import {
  FetchSourceFailedError,
  GitAuthenticationFailedError,
  GitSourceUnreachableError,
  InvalidGitRefError,
  type BuildFailure,
} from '../build-failures.js';

export interface FetchOptions {
  uri: string;
  /** Branch, tag or commit; undefined: the remote's default branch. */
  ref?: string;
  /** An empty folder the checkout goes into. */
  dir: string;
  signal?: AbortSignal;
  /** Gets each line git prints. */
  onOutput?: (line: string) => void;
  /** Time allowed for any one git command. */
  timeoutMs?: number;
  /** Basic-auth credentials for an http(s) remote, or a key (and known hosts) for an ssh one. */
  credentials?: GitCredentials;
}

export interface GitCredentials {
  username: string;
  password: string;
  sshPrivateKey?: string;
  knownHosts?: string;
}

export interface FetchedSource {
  /** The commit checked out. */
  commit: string;
}

/**
 * Fetches one commit of a git repository into `dir` with the git CLI: a shallow fetch of just
 * the ref (a branch, a tag or, where the server allows it, a commit id), falling back to a full
 * fetch for a commit id the server will not serve by itself.
 * @throws InvalidGitRefError, GitSourceUnreachableError, FetchSourceFailedError, AbortedError
 */
export async function fetchGitSource(o: FetchOptions): Promise<FetchedSource> {
  const env = await credentialEnv(o);
  const git = (args: string[]) => runGit(args, o, env);
  // Three git processes on the common path (init, fetch, checkout): each costs a few ms, and a
  // warm build is a few hundred. The remote is named by its URI (no `remote add`), and the commit
  // is read from FETCH_HEAD (no `rev-parse`).
  await git(['init', '--quiet', o.dir]);
  const ref = o.ref || 'HEAD';
  try {
    await git(['-C', o.dir, 'fetch', '--depth=1', '--no-tags', o.uri, '--', ref]);
  } catch (err) {
    if (!(err instanceof InvalidGitRefError) || !/^[0-9a-f]{7,64}$/.test(ref)) throw err;
    // Servers that only serve advertised refs refuse a bare commit id: fetch all, then look.
    await git([
      '-C',
      o.dir,
      'fetch',
      '--no-tags',
      o.uri,
      '+refs/heads/*:refs/remotes/origin/*',
      '+refs/tags/*:refs/tags/*',
    ]);
    await git(['-C', o.dir, 'checkout', '--quiet', '--detach', ref]).catch(() => {
      throw new InvalidGitRefError(`commit "${ref}" is not in ${o.uri}`);
    });
    return { commit: (await git(['-C', o.dir, 'rev-parse', 'HEAD'])).trim() };
  }
  const commit = /^([0-9a-f]{40,64})\t/.exec(await readFile(path.join(o.dir, '.git', 'FETCH_HEAD'), 'utf8'))?.[1];
  await git(['-C', o.dir, 'checkout', '--quiet', '--detach', 'FETCH_HEAD']);
  return { commit: commit ?? (await git(['-C', o.dir, 'rev-parse', 'HEAD'])).trim() };
}

/** Runs git with no prompts and no user or system configuration; returns its standard output. */
function runGit(args: string[], o: FetchOptions, credentials: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new AbortedError('source fetch aborted'));
    const child = spawn('git', args, {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: o.dir,
        GIT_TERMINAL_PROMPT: '0',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_ASKPASS: '/bin/false',
        LC_ALL: 'C',
        ...credentials,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: o.signal,
      timeout: o.timeoutMs ?? 300_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split(/\r?\n|\r/)) if (line.trim()) o.onOutput?.(line);
    });
    child.on('error', (err) => {
      if (o.signal?.aborted) reject(new AbortedError('source fetch aborted', { cause: err }));
      else reject(new FetchSourceFailedError(`could not run git: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      if (code === 0) return resolve(stdout);
      if (o.signal?.aborted) return reject(new AbortedError('source fetch aborted'));
      if (sig)
        return reject(
          new GitSourceUnreachableError(`git timed out after ${(o.timeoutMs ?? 300_000) / 1000}s fetching ${o.uri}`),
        );
      reject(classify(stderr, o));
    });
  });
}

/**
 * Credentials for git, through its environment. Basic auth becomes an http.extraHeader given as
 * configuration in the environment (git ≥ 2.31): never on a command line, in the repository's
 * config or on disk. An ssh key is written (mode 0600) next to the checkout, inside the build's
 * own folder that is removed when the build ends, and named in GIT_SSH_COMMAND; with known
 * hosts the server's key is checked, without them it is accepted as first seen.
 */
async function credentialEnv(o: FetchOptions): Promise<Record<string, string>> {
  const c = o.credentials;
  if (!c) return {};
  if (c.sshPrivateKey) {
    const base = path.dirname(o.dir);
    const key = path.join(base, '.git-ssh-key');
    const known = path.join(base, '.git-known-hosts');
    await writeFile(key, c.sshPrivateKey.endsWith('\n') ? c.sshPrivateKey : c.sshPrivateKey + '\n', { mode: 0o600 });
    await writeFile(known, c.knownHosts ?? '', { mode: 0o600 });
    if (!c.knownHosts)
      o.onOutput?.("warning: the source secret has no known_hosts; the git server's host key is not checked");
    const check = c.knownHosts ? 'yes' : 'accept-new';
    return {
      GIT_SSH_COMMAND: `ssh -i '${key}' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=${check} -o UserKnownHostsFile='${known}'`,
    };
  }
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`,
  };
}

/** Turns git's complaint into the failure a person would name. */
export function classify(stderr: string, o: Pick<FetchOptions, 'uri' | 'ref' | 'credentials'>): BuildFailure {
  const text = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' ').replace(/\s+/g, ' ');
  if (
    /couldn't find remote ref|not our ref|unadvertised object|pathspec .* did not match|unknown revision|reference is not a tree|invalid refspec/i.test(
      stderr,
    )
  ) {
    return new InvalidGitRefError(`ref "${o.ref || 'HEAD'}" was not found in ${o.uri}: ${text}`);
  }
  const auth =
    /authentication failed|could not read username|could not read password|http basic: access denied|requested URL returned error: 40[13]|permission denied \(publickey|host key verification failed/i;
  if (auth.test(stderr)) {
    // Say the line that tells why, not just git's closing words.
    const why =
      stderr
        .split('\n')
        .find((l) => auth.test(l))
        ?.trim() ?? text;
    return new GitAuthenticationFailedError(
      `${o.uri} refused the ${o.credentials ? "source secret's credentials" : 'fetch without credentials (no source secret)'}: ${why}`,
    );
  }
  if (
    /could not resolve host|connection refused|unable to connect|couldn't connect|connection timed out|network is unreachable|no route to host|failed to connect|unable to look up/i.test(
      stderr,
    )
  ) {
    return new GitSourceUnreachableError(`git server of ${o.uri} could not be reached: ${text}`);
  }
  return new FetchSourceFailedError(`fetching ${o.uri} failed: ${text}`);
}
