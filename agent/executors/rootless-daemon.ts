import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { firstSubordinateRange, type IdRange } from './userns-remap.js';

/**
 * A private daemon in rootless mode cannot start on this node; the message names what the node
 * lacks (no user namespaces, no such user, no subordinate range, no newuidmap or rootlesskit).
 */
export class RootlessDaemonUnavailableError extends Error {
  readonly reason = 'RootlessDaemonUnavailable';
  override readonly name = 'RootlessDaemonUnavailableError';
}

/** The error for a node that cannot run a rootless daemon, `problem` saying what it lacks (rootlessProblem). */
export function rootlessUnavailable(problem: string): RootlessDaemonUnavailableError {
  return new RootlessDaemonUnavailableError(
    `cannot run a rootless private daemon (SLIPWAY_DIND_USERNS=rootless): ${problem}; or set SLIPWAY_DIND_USERNS=remap`,
  );
}

/** Where the node keeps its users, subordinate ranges and user-namespace switches (a test may point it elsewhere). */
export interface RootlessFiles {
  passwd: string;
  subuid: string;
  subgid: string;
  maxUserNamespaces: string;
  /** Debian's and Ubuntu's older kernels: 0 forbids user namespaces to anyone but root. */
  unprivilegedUsernsClone: string;
  /** Ubuntu 24.04's AppArmor: 1 refuses unconfined programs (rootlesskit) a user namespace. */
  apparmorRestrictUserns: string;
}

const NODE_FILES: RootlessFiles = {
  passwd: '/etc/passwd',
  subuid: '/etc/subuid',
  subgid: '/etc/subgid',
  maxUserNamespaces: '/proc/sys/user/max_user_namespaces',
  unprivilegedUsernsClone: '/proc/sys/kernel/unprivileged_userns_clone',
  apparmorRestrictUserns: '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
};

/** The user a rootless daemon runs as: its ids, and the first ranges of /etc/subuid and /etc/subgid it may map. */
export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
  subuid: IdRange;
  subgid: IdRange;
}

/**
 * Who runs the rootless daemons: the agent itself when it is not root (`name` is then unused),
 * else the user `name` of /etc/passwd. Either way not uid 0, with subordinate ranges of its own
 * (a line `name-or-uid:start:count` in each of /etc/subuid and /etc/subgid).
 * @returns the user, or a sentence saying what is missing.
 */
export async function rootlessUser(
  name: string,
  files: RootlessFiles = NODE_FILES,
  self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
): Promise<RootlessUser | string> {
  const passwd = (await readFile(files.passwd, 'utf8').catch(() => '')).split('\n').map((l) => l.split(':'));
  let user: { name: string; uid: number; gid: number };
  if (self.uid !== 0) {
    const entry = passwd.find((f) => f[2] === String(self.uid));
    user = { name: entry?.[0] ?? String(self.uid), uid: self.uid, gid: self.gid };
  } else {
    const entry = passwd.find((f) => f[0] === name);
    if (!entry) return `there is no user ${name} in ${files.passwd} to run the daemons as (useradd --system ${name})`;
    user = { name, uid: Number(entry[2]), gid: Number(entry[3]) };
    if (user.uid === 0) return `the user ${name} is root (uid 0 in ${files.passwd})`;
  }
  const names = new Set([user.name, String(user.uid)]);
  const subuid = firstSubordinateRange(await readFile(files.subuid, 'utf8').catch(() => ''), names);
  const subgid = firstSubordinateRange(await readFile(files.subgid, 'utf8').catch(() => ''), names);
  const hint = `(add "${user.name}:200000:65536" to both)`;
  if (!subuid) return `the user ${user.name} has no range in ${files.subuid} ${hint}`;
  if (!subgid) return `the user ${user.name} has no range in ${files.subgid} ${hint}`;
  return { ...user, subuid, subgid };
}

/**
 * What this node lacks for a rootless private daemon run as `userName` (see rootlessUser), or
 * undefined when nothing: user namespaces open to unprivileged users, the user and its ranges,
 * and newuidmap, newgidmap (Debian: uidmap) and rootlesskit on the PATH. The setuid bit or file
 * capability newuidmap needs is not checked: the daemon's start then fails with rootlesskit's words.
 */
export async function rootlessProblem(
  userName: string,
  files: RootlessFiles = NODE_FILES,
  searchPath = process.env.PATH ?? '',
  self?: { uid: number; gid: number },
): Promise<string | undefined> {
  const read = (f: string) =>
    readFile(f, 'utf8').then(
      (s) => s.trim(),
      () => '',
    );
  if ((await read(files.maxUserNamespaces)) === '0')
    return `user namespaces are turned off in this kernel (${files.maxUserNamespaces} is 0)`;
  if ((await read(files.unprivilegedUsernsClone)) === '0')
    return `this kernel keeps user namespaces to root (${files.unprivilegedUsernsClone} is 0)`;
  if ((await read(files.apparmorRestrictUserns)) === '1')
    return `AppArmor refuses unprivileged user namespaces (${files.apparmorRestrictUserns} is 1; rootlesskit needs a profile allowing userns)`;
  const user = await rootlessUser(userName, files, self);
  if (typeof user === 'string') return user;
  for (const [tool, pkg] of [
    ['newuidmap', 'uidmap'],
    ['newgidmap', 'uidmap'],
    ['rootlesskit', 'rootlesskit'],
  ] as const)
    if (!(await onPath(tool, searchPath))) return `there is no ${tool} on the PATH (Debian: apt-get install ${pkg})`;
  return undefined;
}

async function onPath(name: string, searchPath: string): Promise<boolean> {
  for (const dir of searchPath.split(':').filter(Boolean))
    if (
      await access(path.join(dir, name)).then(
        () => true,
        () => false,
      )
    )
      return true;
  return false;
}

/**
 * How a rootless daemon is started: rootlesskit, as the unprivileged user, makes a user namespace
 * (uid 0 inside is the user; 1 and up its subordinate range) and a mount namespace, and runs
 * dockerd in them. `--net=host`: the daemon shares the node's network namespace, which it cannot
 * change (its user namespace does not own it), so it reaches the registry and mirrors on the
 * node's loopback as the rootful daemons do; no port driver (the daemon publishes no ports).
 * /etc and /run are copied up so dockerd can write its own /run/docker; a small shell first
 * removes the node's /run/docker and /run/containerd from that copy (as dockerd-rootless.sh does).
 */
export function rootlessCommand(
  root: string,
  dockerd: string,
  dockerdArgs: string[],
): { command: string; args: string[] } {
  return {
    command: 'rootlesskit',
    args: [
      '--net=host',
      '--port-driver=none',
      '--copy-up=/etc',
      '--copy-up=/run',
      '--propagation=rslave',
      '--pidns',
      `--state-dir=${path.join(root, 'rootlesskit')}`,
      'sh',
      '-c',
      'rm -f /run/docker /run/containerd /run/xtables.lock; exec "$0" "$@"',
      dockerd,
      ...dockerdArgs,
    ],
  };
}

/**
 * Removes `dir` as root of a user namespace that maps this (unprivileged) process's uid and its
 * subordinate ranges, as rootlesskit makes one: what a rootless daemon left owned by those ids
 * (its layers, files its RUN steps made) cannot be removed by the user otherwise.
 * @throws Error with rootlesskit's last words when it fails.
 */
export async function rootlessUserRemove(dir: string): Promise<void> {
  const state = await mkdtemp(path.join(tmpdir(), 'sw-rm-'));
  try {
    let output = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        'rootlesskit',
        ['--net=host', '--port-driver=none', `--state-dir=${path.join(state, 'kit')}`, 'rm', '-rf', dir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const keep = (d: Buffer) => (output = (output + d.toString()).slice(-2000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.once('error', reject).once('exit', resolve);
    });
    if (code !== 0) throw new Error(`cannot remove ${dir} in a user namespace: ${output.trim()}`);
  } finally {
    await rm(state, { recursive: true, force: true });
  }
}
