import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { DockerRuntime } from '../container-runtime/docker-runtime.js';
import type { ContainerLimits } from '../container-runtime/types.js';
import { DaemonCgroup } from './daemon-cgroup.js';
import {
  rootlessCommand,
  rootlessUnavailable,
  rootlessUser,
  rootlessUserRemove,
  type RootlessUser,
} from './rootless-daemon.js';
import { writeRuncShim } from './runc-sysfs-shim.js';
import { usernsArgs, whenRemapReady, type DindUserns } from './userns-remap.js';

/**
 * BuildKit, by default, clips a step's output at 1 MiB and throttles it to 100 KiB/s; a build's
 * log is Slipway's to bound (its log stream's limits), so the private daemons let through 1 GiB
 * a step at 1 GiB/s. (Not -1: the BuildKit in dockerd 20.10 reads that as a limit of -1 bytes.)
 */
export const BUILDKIT_ENV = { BUILDKIT_STEP_LOG_MAX_SIZE: '1073741824', BUILDKIT_STEP_LOG_MAX_SPEED: '1073741824' };

export interface PrivateDaemonOptions {
  /** The dockerd binary. */
  dockerd: string;
  /**
   * Where the daemon's folder is made. Keep it short: containerd's sockets live under it and
   * unix socket paths are limited to 108 bytes.
   */
  rootParent: string;
  /** Registry mirrors the daemon pulls Docker Hub images through (the node's caching proxy). */
  registryMirrors: string[];
  /** How long the daemon may take to answer its first ping. */
  startTimeoutMs: number;
  /**
   * `remap`: its containers and RUN steps run in a user namespace (`--userns-remap=default`),
   * root inside and a uid of dockremap's subordinate range on the node; `rootless`: the daemon
   * runs as `rootlessUser` under rootlesskit, and no process of its tree is root; `off`: as the
   * node's root.
   */
  userns: DindUserns;
  /**
   * `rootless` with an agent running as root: the user of /etc/passwd the daemons run as (it
   * needs ranges in /etc/subuid and /etc/subgid). An agent that is not root runs them as itself.
   */
  rootlessUser?: string;
  log: Logger;
}

/**
 * A dockerd of the agent's own, on its own socket, data root and exec root, all in one folder
 * that `stop` removes. Without a bridge or iptables rules, so it cannot disturb the node's
 * networking or another daemon. With `userns: 'remap'` its builds run in a user namespace.
 */
export class PrivateDaemon {
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private cgroup: DaemonCgroup | undefined;
  /** Set when the daemon exited without being asked to. */
  died = false;

  private constructor(
    readonly root: string,
    readonly runtime: DockerRuntime,
    private readonly o: PrivateDaemonOptions,
  ) {}

  get socket(): string {
    return path.join(this.root, 'docker.sock');
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /**
   * Starts a daemon and waits until it answers. With `limits`, everything the daemon runs is held
   * to them together (a cgroup its containers are made in; the daemon itself stays outside).
   * @throws UsernsRemapUnavailableError with `userns: 'remap'` on a node that cannot remap (it
   * names what is missing); RootlessDaemonUnavailableError with `userns: 'rootless'` when the
   * user or its ranges are missing, or with `limits` (a rootless daemon cannot be held to a
   * cgroup here); Error with its last output when it does not start.
   */
  static start(
    o: PrivateDaemonOptions,
    onExit?: (d: PrivateDaemon) => void,
    limits?: ContainerLimits,
  ): Promise<PrivateDaemon> {
    return o.userns === 'remap'
      ? whenRemapReady(() => PrivateDaemon.startNow(o, onExit, limits))
      : PrivateDaemon.startNow(o, onExit, limits);
  }

  private static async startNow(
    o: PrivateDaemonOptions,
    onExit?: (d: PrivateDaemon) => void,
    limits?: ContainerLimits,
  ): Promise<PrivateDaemon> {
    let user: RootlessUser | undefined;
    if (o.userns === 'rootless') {
      // cgroup v1 gives an unprivileged daemon no cgroups at all; delegating a v2 subtree to the
      // user is not done yet. A limit that silently did not hold would be worse than a refusal.
      if (limits)
        throw rootlessUnavailable(
          'a build with resource limits needs a daemon held to a cgroup, which a rootless daemon is not',
        );
      const found = await rootlessUser(o.rootlessUser ?? '');
      if (typeof found === 'string') throw rootlessUnavailable(found);
      user = found;
      if (user.uid !== process.getuid?.() && ((await stat(o.rootParent)).mode & 0o001) === 0)
        throw rootlessUnavailable(`${o.rootParent} does not let ${user.name} pass to its daemon's folder (chmod o+x)`);
    }
    const root = await mkdtemp(path.join(o.rootParent, 'sw-'));
    const daemon = new PrivateDaemon(root, new DockerRuntime(`unix://${path.join(root, 'docker.sock')}`), o);
    let shim: string | undefined;
    if (user) {
      try {
        // The daemon's folder is its user's; XDG_RUNTIME_DIR and HOME (which dockerd and
        // rootlesskit require) are folders in it.
        for (const dir of ['run', 'home']) await mkdir(path.join(root, dir));
        for (const dir of [root, path.join(root, 'run'), path.join(root, 'home')]) await chown(dir, user.uid, user.gid);
        // The agent (root, or the same user) reaches the socket; nobody else gets in.
        await chmod(root, 0o700);
      } catch (err) {
        await daemon.stop();
        throw err;
      }
    } else if (o.userns === 'remap') {
      try {
        // The remapped root must get through to its layers under the data root (dockerd checks
        // every folder above it): the folder lets anyone pass, and lists nothing.
        await chmod(root, 0o711);
        // Remapped RUN steps on the daemon's network need /sys bound, not mounted (runc-sysfs-shim.ts).
        shim = await writeRuncShim(path.join(root, 'bin'));
      } catch (err) {
        await daemon.stop();
        throw err;
      }
    }
    if (limits) {
      try {
        daemon.cgroup = await DaemonCgroup.create(path.basename(root), limits);
      } catch (err) {
        await daemon.stop();
        throw new Error(`cannot limit the private daemon: ${errorMessage(err)}`, { cause: err });
      }
    }
    let output = '';
    const args = [
      `--host=unix://${daemon.socket}`,
      `--data-root=${path.join(root, 'data')}`,
      `--exec-root=${path.join(root, 'x')}`,
      `--pidfile=${path.join(root, 'docker.pid')}`,
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      ...usernsArgs(o.userns),
      ...(daemon.cgroup ? [`--cgroup-parent=${daemon.cgroup.parent}`] : []),
      ...o.registryMirrors.map((m) => `--registry-mirror=${m}`),
    ];
    const launch = user ? rootlessCommand(root, o.dockerd, args) : { command: o.dockerd, args };
    const child = spawn(launch.command, launch.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...BUILDKIT_ENV,
        ...(shim ? { PATH: `${shim}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` } : {}),
        ...(user ? { HOME: path.join(root, 'home'), XDG_RUNTIME_DIR: path.join(root, 'run') } : {}),
      },
      ...(user && user.uid !== process.getuid?.() ? { uid: user.uid, gid: user.gid } : {}),
    });
    daemon.process = child;
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    daemon.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!daemon.stopping) {
          daemon.died = true;
          o.log.warn('private Docker daemon exited', { root, code, signal });
          onExit?.(daemon);
        }
        resolve();
      }),
    );
    const until = Date.now() + o.startTimeoutMs;
    for (;;) {
      try {
        await daemon.runtime.ping();
        o.log.info('private Docker daemon ready', { root, pid: child.pid });
        return daemon;
      } catch {
        if (daemon.died || Date.now() > until) {
          await daemon.stop();
          throw new Error(`private dockerd did not start: ${output.trim().split('\n').slice(-3).join(' ')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /**
   * Stops the daemon (TERM, then KILL after 15 s), kills a containerd it may have left, unmounts
   * what is still mounted under its folder, and removes the folder. Safe to call twice.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(killed);
    }
    // A daemon that died (or was killed) leaves containerd, its shims and their containers running.
    await killProcessesOf(this.root);
    await unmountUnder(this.root);
    await removeFolder(this.root).catch((err) =>
      this.o.log.warn('could not remove the private daemon folder', { root: this.root, error: errorMessage(err) }),
    );
    await this.cgroup?.remove();
  }

  /** Kills it as a crash would (for supervision and tests). */
  kill(): void {
    this.process?.kill('SIGKILL');
  }
}

/**
 * Daemons an earlier run of the agent left under `rootParent` (it was killed before it could
 * stop them): each is killed, unmounted and removed. Only `sw-*` folders are touched.
 */
export async function removeLeftoverDaemons(rootParent: string, log: Logger): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  const entries = (await readdir(rootParent).catch(() => [] as string[])).filter((e) => e.startsWith('sw-'));
  for (const e of entries) {
    const root = path.join(rootParent, e);
    await killProcessesOf(root);
    await unmountUnder(root);
    await removeFolder(root).catch((err) =>
      log.warn('could not remove a leftover daemon folder', { root, error: errorMessage(err) }),
    );
  }
  return entries.length;
}

/**
 * Kills every process started for the daemon in `root` — dockerd, containerd and its shims,
 * whose command lines name the folder — and everything they started (the containers), and every
 * process whose root file system lies in the folder: a BuildKit RUN step is run by dockerd's own
 * runc, not under a shim, and outlives a killed dockerd as an orphan naming nothing of it.
 */
async function killProcessesOf(root: string): Promise<void> {
  const { readdir } = await import('node:fs/promises');
  const parents = new Map<number, number>();
  const named: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(pid, ppid);
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (pid !== process.pid && (cmd.includes(root) || (await runsOnLayersUnder(pid, root)))) named.push(pid);
  }
  const doomed = new Set(named);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!doomed.has(pid) && doomed.has(ppid)) {
        doomed.add(pid);
        grew = true;
      }
    }
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (doomed.size > 0) await new Promise((r) => setTimeout(r, 200));
}

/**
 * Whether the file system at the process's `/` is made of layers under `root` (an overlay whose
 * directories lie there). Read from its mountinfo: in the step's own mount namespace its root
 * reads as `/`, so `/proc/<pid>/root` cannot tell.
 */
async function runsOnLayersUnder(pid: number, root: string): Promise<boolean> {
  const mounts = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '');
  const top = mounts.split('\n').find((l) => l.split(' ')[4] === '/');
  return top !== undefined && top.includes(root + '/');
}

/**
 * Removes a daemon's folder. An agent that is not root cannot remove what a rootless daemon of
 * its own left owned by its subordinate ids (layers, containers' files): it removes those as
 * root of a user namespace mapping them (rootlessUserRemove).
 */
async function removeFolder(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (err) {
    if (process.getuid?.() === 0 || !['EACCES', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    await rootlessUserRemove(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Unmounts (lazily) every mount point under `dir`, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    await new Promise<void>((resolve) =>
      spawn('umount', ['-l', m])
        .once('exit', () => resolve())
        .once('error', () => resolve()),
    );
  }
}
