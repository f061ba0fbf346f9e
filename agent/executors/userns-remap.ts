import { access, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * How the dind executor's private daemons run builds. `remap`: in a user namespace
 * (`dockerd --userns-remap=default`): a RUN step's or a Source-to-Image container's root is uid 0
 * inside and an unprivileged uid of the node's subordinate range (`/etc/subuid`, the `dockremap`
 * user's) outside, without the capabilities of the node's root (no `mknod`, no module loading,
 * nothing root-owned of the node writable). `rootless`: the daemon itself, containerd and every
 * RUN step run as an unprivileged user of the node (rootless-daemon.ts): root inside is that
 * user, nothing of the build's process tree is root. `off`: they run as the node's root, as on
 * the node's own daemon.
 */
export type DindUserns = 'remap' | 'off' | 'rootless';

/** The user `--userns-remap=default` maps containers to the subordinate ranges of. */
export const REMAP_USER = 'dockremap';

/** The dockerd argument for a mode (none for `off`, and for `rootless`: rootlesskit makes its namespace). */
export function usernsArgs(mode: DindUserns): string[] {
  return mode === 'remap' ? ['--userns-remap=default'] : [];
}

/** A range of subordinate ids: `start` to `start + count - 1` on the node. */
export interface IdRange {
  start: number;
  count: number;
}

/**
 * A private daemon cannot run builds in a user namespace on this node; the message says what
 * is missing and how to turn remapping off (`SLIPWAY_DIND_USERNS=off`).
 */
export class UsernsRemapUnavailableError extends Error {
  readonly reason = 'UsernsRemapUnavailable';
  override readonly name = 'UsernsRemapUnavailableError';
}

/** The error for a node that cannot remap, `problem` saying what it lacks (usernsRemapProblem). */
export function remapUnavailable(problem: string): UsernsRemapUnavailableError {
  return new UsernsRemapUnavailableError(
    `cannot run builds in a user namespace (SLIPWAY_DIND_USERNS=remap): ${problem}; or set SLIPWAY_DIND_USERNS=off to run them as root on the node`,
  );
}

/** Where the node keeps its users and subordinate ranges (a test may point it elsewhere). */
export interface IdFiles {
  passwd: string;
  subuid: string;
  subgid: string;
  maxUserNamespaces: string;
}

const NODE_FILES: IdFiles = {
  passwd: '/etc/passwd',
  subuid: '/etc/subuid',
  subgid: '/etc/subgid',
  maxUserNamespaces: '/proc/sys/user/max_user_namespaces',
};

/**
 * The `dockremap` user's first subordinate uid and gid ranges, as dockerd reads them (lines
 * `name-or-uid:start:count`); undefined when the user or either range is missing.
 */
export async function remapRanges(files: IdFiles = NODE_FILES): Promise<{ uid: IdRange; gid: IdRange } | undefined> {
  const passwd = await readFile(files.passwd, 'utf8').catch(() => '');
  const entry = passwd.split('\n').find((l) => l.split(':')[0] === REMAP_USER);
  if (!entry) return undefined;
  const names = new Set([REMAP_USER, entry.split(':')[2]]);
  const uid = firstSubordinateRange(await readFile(files.subuid, 'utf8').catch(() => ''), names);
  const gid = firstSubordinateRange(await readFile(files.subgid, 'utf8').catch(() => ''), names);
  return uid && gid ? { uid, gid } : undefined;
}

/**
 * The first range of an /etc/subuid or /etc/subgid text (lines `name-or-uid:start:count`) whose
 * first field is one of `names`; undefined when none (a count of 0 is no range).
 */
export function firstSubordinateRange(text: string, names: Set<string | undefined>): IdRange | undefined {
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (names.has(name) && /^\d+$/.test(start ?? '') && /^\d+$/.test(count ?? '') && Number(count) > 0)
      return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/**
 * What this node lacks for `--userns-remap=default`, or undefined when nothing: user namespaces
 * in the kernel, and the `dockremap` user with ranges in /etc/subuid and /etc/subgid, or, when
 * the user is missing, `useradd` or `adduser` for dockerd to make it and its ranges with (it does,
 * on its first start). A `dockremap` without ranges is not repaired by dockerd.
 */
export async function usernsRemapProblem(
  files: IdFiles = NODE_FILES,
  searchPath = process.env.PATH ?? '',
): Promise<string | undefined> {
  const max = (await readFile(files.maxUserNamespaces, 'utf8').catch(() => '')).trim();
  if (max === '0') return `user namespaces are turned off in this kernel (${files.maxUserNamespaces} is 0)`;
  if (await remapRanges(files)) return undefined;
  const passwd = await readFile(files.passwd, 'utf8').catch(() => '');
  if (passwd.split('\n').some((l) => l.split(':')[0] === REMAP_USER))
    return `the user ${REMAP_USER} has no range in ${files.subuid} or ${files.subgid} (add "${REMAP_USER}:100000:65536" to both)`;
  for (const dir of searchPath.split(':').filter(Boolean))
    for (const tool of ['useradd', 'adduser'])
      if (
        await access(path.join(dir, tool)).then(
          () => true,
          () => false,
        )
      )
        return undefined;
  return `there is no user ${REMAP_USER} with ranges in ${files.subuid} and ${files.subgid}, and no useradd or adduser for dockerd to make them with`;
}

/** Starts go one at a time while dockremap is missing: each dockerd would try to make it. */
let gate: Promise<void> = Promise.resolve();

/**
 * Runs `start` (a private daemon's start with `--userns-remap=default`) once the node can remap.
 * While `dockremap` is missing, starts go one at a time, so that only the first dockerd makes
 * the user and its ranges (two useradds at once fight over /etc/passwd's lock).
 * @throws UsernsRemapUnavailableError naming what the node lacks.
 */
export async function whenRemapReady<T>(start: () => Promise<T>): Promise<T> {
  const previous = gate;
  let done!: () => void;
  gate = new Promise((resolve) => (done = resolve));
  let first: { value: T } | undefined;
  try {
    await previous;
    if (!(await remapRanges())) {
      const problem = await usernsRemapProblem();
      if (problem) throw remapUnavailable(problem);
      first = { value: await start() };
    }
  } finally {
    done();
  }
  return first ? first.value : start();
}
