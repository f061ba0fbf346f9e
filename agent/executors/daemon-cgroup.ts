import { access, mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerLimits } from '../container-runtime/types.js';

/**
 * A cgroup that holds one private daemon's containers (BuildKit's RUN steps among them) to a
 * build's limits as a whole: the daemon is started with `--cgroup-parent` naming it, so every
 * container it makes is a child and the kernel applies the parent's memory and CPU limits to
 * all of them together. BuildKit in dockerd ignores a build's own `memory` and `cpuquota`; this
 * is the limit it cannot escape.
 *
 * Works on cgroup v2 (the unified hierarchy at /sys/fs/cgroup) and on v1 (a folder per
 * controller under /sys/fs/cgroup). Swap is turned off inside, so a limit is a limit.
 */
export class DaemonCgroup {
  private constructor(
    /** What `--cgroup-parent` is given: "/slipway-<name>". */
    readonly parent: string,
    private readonly folders: string[],
  ) {}

  /**
   * Makes the cgroup and writes the limits. @throws Error naming the file the kernel refused
   * (no cgroup filesystem, or not writable: the agent is not privileged).
   */
  static async create(name: string, limits: ContainerLimits, root = '/sys/fs/cgroup'): Promise<DaemonCgroup> {
    const parent = `/slipway-${name}`;
    const v2 = await exists(path.join(root, 'cgroup.controllers'));
    const folders: string[] = [];
    const cgroup = new DaemonCgroup(parent, folders);
    try {
      if (v2) {
        const dir = path.join(root, parent);
        // Children get the memory and cpu controllers only where every parent hands them down.
        await writeFile(path.join(root, 'cgroup.subtree_control'), '+memory +cpu').catch(() => {});
        await mkdir(dir);
        folders.push(dir);
        await writeFile(path.join(dir, 'cgroup.subtree_control'), '+memory +cpu');
        if (limits.memoryBytes) {
          await write(dir, 'memory.max', String(limits.memoryBytes));
          await write(dir, 'memory.swap.max', '0');
        }
        if (limits.cpuQuota && limits.cpuPeriod) await write(dir, 'cpu.max', `${limits.cpuQuota} ${limits.cpuPeriod}`);
      } else {
        if (limits.memoryBytes) {
          const dir = path.join(root, 'memory', parent);
          await mkdir(dir);
          folders.push(dir);
          await write(dir, 'memory.limit_in_bytes', String(limits.memoryBytes));
          // memsw exists only with swap accounting on; without it there is no swap to limit.
          if (await exists(path.join(dir, 'memory.memsw.limit_in_bytes')))
            await write(dir, 'memory.memsw.limit_in_bytes', String(limits.memoryBytes));
        }
        if (limits.cpuQuota && limits.cpuPeriod) {
          const dir = path.join(root, 'cpu', parent);
          await mkdir(dir);
          folders.push(dir);
          await write(dir, 'cpu.cfs_period_us', String(limits.cpuPeriod));
          await write(dir, 'cpu.cfs_quota_us', String(limits.cpuQuota));
        }
      }
      return cgroup;
    } catch (err) {
      await cgroup.remove();
      throw err;
    }
  }

  /** Removes the cgroup (once the daemon and its containers are gone); one already gone counts as removed. */
  async remove(): Promise<void> {
    // Children first: the daemon's containers' cgroups, if the runtime left them.
    for (const dir of this.folders.splice(0).reverse()) await removeTree(dir);
  }
}

/** Removes a cgroup folder and those under it, deepest first (rmdir is how cgroups are removed). */
async function removeTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => []))
    if (e.isDirectory()) await removeTree(path.join(dir, e.name));
  await rmdir(dir).catch(() => {});
}

async function write(dir: string, file: string, value: string): Promise<void> {
  try {
    await writeFile(path.join(dir, file), value);
  } catch (err) {
    throw new Error(`cannot set ${path.join(dir, file)} to ${value}: ${(err as Error).message}`, { cause: err });
  }
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}
