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
import { pullLfsFiles } from './git-lfs.js';
import { updateSubmodules } from './git-submodules.js';

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
  /**
   * Basic-auth credentials for an http(s) remote, or a key (and known hosts) for an ssh one.
   * They are offered only to the host of `uri` (scheme, host and port for http(s); host for
   * ssh), for submodules and LFS too: a submodule elsewhere is fetched without them.
   */
  credentials?: GitCredentials;
  /** Check out the submodules too (recursively, at depth 1 where the server allows); undefined: true. */
  submodules?: boolean;
  /** The git-lfs binary for LFS files; undefined: `git-lfs` on PATH. */
  gitLfs?: string;
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
 * fetch for a commit id the server will not serve by itself; then its submodules (unless
 * `submodules` is false) and the content of its LFS files (see checkoutExtras).
 * @throws InvalidGitRefError, GitSourceUnreachableError, GitAuthenticationFailedError,
 *   FetchSourceFailedError, SubmoduleFetchFailedError, GitLfsUnavailableError,
 *   GitLfsFetchFailedError, AbortedError
 */
export async function fetchGitSource(o: FetchOptions): Promise<FetchedSource> {
  const env = await credentialEnv(o);
  const fetched = await fetchCommit(o, env);
  await checkoutExtras(o, env);
  return fetched;
}

/** The submodules (unless turned off) and then the LFS files' content of the checkout and of its submodules. */
async function checkoutExtras(o: FetchOptions, env: Record<string, string>): Promise<void> {
  if (o.submodules === false) return pullLfsFiles(o, env);
  await pullLfsFiles(o, env, await updateSubmodules(o, env));
}

async function fetchCommit(o: FetchOptions, env: Record<string, string>): Promise<FetchedSource> {
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

/** How runGit turns a failed command's standard error into the error it throws. */
export type GitFailure = (stderr: string, o: FetchOptions) => Error;

/** Where runGit runs: the command (git unless told), exit codes that are not failures, the failure. */
export interface GitCall {
  command?: string;
  cwd?: string;
  okCodes?: number[];
  failure?: GitFailure;
  /** When the command cannot be run at all (ENOENT, EACCES); undefined: FetchSourceFailedError. */
  notRunnable?: (err: Error) => Error;
}

/**
 * Runs git with no prompts and no user or system configuration; returns its standard output.
 * Credentials and configuration come only through `env` (never the command line).
 */
export function runGit(
  args: string[],
  o: FetchOptions,
  env: Record<string, string>,
  call: GitCall = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new AbortedError('source fetch aborted'));
    const timeoutMs = o.timeoutMs ?? 300_000;
    const child = spawn(call.command ?? 'git', args, {
      cwd: call.cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: o.dir,
        GIT_TERMINAL_PROMPT: '0',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_ASKPASS: '/bin/false',
        LC_ALL: 'C',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: o.signal,
    });
    // Not spawn's own `timeout`: its timer is cleared only on exit, which a command that could
    // not be started (no git-lfs) never has, so it would stay behind for the whole timeout.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split(/\r?\n|\r/)) if (line.trim()) o.onOutput?.(line);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      if (o.signal?.aborted) reject(new AbortedError('source fetch aborted', { cause: err }));
      else if (call.notRunnable) reject(call.notRunnable(err));
      else reject(new FetchSourceFailedError(`could not run git: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0 || (code !== null && call.okCodes?.includes(code))) return resolve(stdout);
      if (o.signal?.aborted) return reject(new AbortedError('source fetch aborted'));
      if (timedOut)
        return reject(new GitSourceUnreachableError(`git timed out after ${timeoutMs / 1000}s fetching ${o.uri}`));
      if (sig) return reject(new FetchSourceFailedError(`git was stopped by ${sig} fetching ${o.uri}`));
      reject((call.failure ?? classify)(stderr, o));
    });
  });
}

/**
 * Credentials for git, through its environment, offered only to the host of the source's URI.
 * Basic auth becomes an `http.<scheme://host:port/>.extraHeader` in GIT_CONFIG_PARAMETERS
 * (which git, unlike GIT_CONFIG_COUNT, hands on to the fetches of submodules and which git-lfs
 * reads): never on a command line, in the repository's config or on disk, and git sends it to
 * that origin only, so a submodule or LFS endpoint elsewhere is fetched without it. An ssh key
 * is written (mode 0600) next to the checkout, inside the build's own folder that is removed
 * when the build ends, with an ssh config that offers it to the source's host only; with known
 * hosts the server's key is checked, without them it is accepted as first seen. Local
 * (file://) remotes are refused throughout, submodules included.
 */
export async function credentialEnv(o: FetchOptions): Promise<Record<string, string>> {
  const config: [string, string][] = [['protocol.file.allow', 'never']];
  const env = (): Record<string, string> => ({ GIT_CONFIG_PARAMETERS: configParameters(config) });
  const c = o.credentials;
  if (!c) return env();
  if (c.sshPrivateKey) {
    const base = path.dirname(o.dir);
    const key = path.join(base, '.git-ssh-key');
    const known = path.join(base, '.git-known-hosts');
    const sshConfig = path.join(base, '.git-ssh-config');
    await writeFile(key, c.sshPrivateKey.endsWith('\n') ? c.sshPrivateKey : c.sshPrivateKey + '\n', { mode: 0o600 });
    await writeFile(known, c.knownHosts ?? '', { mode: 0o600 });
    if (!c.knownHosts)
      o.onOutput?.("warning: the source secret has no known_hosts; the git server's host key is not checked");
    const check = c.knownHosts ? 'yes' : 'accept-new';
    const host = sshHost(o.uri);
    // IdentityFile adds up over matching blocks: the key is named only in the source host's, and
    // "none" stands in for ssh's default keys of the agent's user, for every host.
    const lines = [
      ...(host ? [`Host "${host}"`, `  IdentityFile "${key}"`] : []),
      'Host *',
      '  IdentitiesOnly yes',
      '  IdentityFile none',
      '  BatchMode yes',
      `  StrictHostKeyChecking ${check}`,
      `  UserKnownHostsFile "${known}"`,
    ];
    await writeFile(sshConfig, lines.join('\n') + '\n', { mode: 0o600 });
    return { ...env(), GIT_SSH_COMMAND: `ssh -F '${sshConfig}'` };
  }
  const origin = httpOrigin(o.uri);
  if (origin) {
    const basic = Buffer.from(`${c.username}:${c.password}`).toString('base64');
    config.push([`http.${origin}/.extraHeader`, `Authorization: Basic ${basic}`]);
  }
  return env();
}

/** scheme://host[:port] of an http(s) URI, or undefined for any other. */
export function httpOrigin(uri: string): string | undefined {
  if (!/^https?:\/\//i.test(uri)) return undefined;
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}

/** The host of an ssh:// or user@host:path URI, or undefined (also for one no ssh config may name). */
export function sshHost(uri: string): string | undefined {
  let host: string | undefined;
  if (/^ssh:\/\//i.test(uri)) {
    try {
      host = new URL(uri).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return undefined;
    }
  } else host = /^[\w.-]+@([\w.-]+):/.exec(uri)?.[1];
  return host && /^[A-Za-z0-9.:_-]+$/.test(host) ? host : undefined;
}

/** `env` with more configuration added to its GIT_CONFIG_PARAMETERS. */
export function withConfig(env: Record<string, string>, entries: [string, string][]): Record<string, string> {
  const more = configParameters(entries);
  const params = env.GIT_CONFIG_PARAMETERS ? `${env.GIT_CONFIG_PARAMETERS} ${more}` : more;
  return { ...env, GIT_CONFIG_PARAMETERS: params };
}

/** Configuration as git reads it from GIT_CONFIG_PARAMETERS: 'key'='value', shell-quoted. */
function configParameters(entries: [string, string][]): string {
  const quote = (v: string) => `'${v.replace(/'/g, "'\\''")}'`;
  return entries.map(([k, v]) => `${quote(k)}=${quote(v)}`).join(' ');
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
