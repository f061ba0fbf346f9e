import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import { removeLeftoverDaemons } from '../../../agent/executors/private-daemon.js';
import { silentLogger } from '../../../common/log.js';
import { run } from '../processes.js';
import type { Teardowns } from '../teardowns.js';

/**
 * A size-limited filesystem of the test's own: an ext4 image file on a loop device, mounted under
 * /tmp (short paths: a private daemon's containerd sockets live under it, and unix socket paths
 * are limited to 108 bytes). ext4, not a tmpfs: overlay2 needs a backing filesystem it supports
 * (dockerd reports "Backing Filesystem: extfs" on it). Needs root.
 */
export interface BoundedDisk {
  /** Where it is mounted: give it to the agent as SLIPWAY_DIND_ROOT and SLIPWAY_GC_FILESYSTEM. */
  mountPoint: string;
  /** The loop device it is on. */
  device: string;
  /** Its size as the filesystem reports it (blocks × block size): what percentages are of. */
  sizeBytes: number;
  /** Bytes used right after it was made (the filesystem's own metadata): "empty". */
  emptyUsedBytes: number;
  /** Used bytes now (statfs). */
  usedBytes(): Promise<number>;
  /** Mount points below the mount point (a daemon's overlays, its exec root), deepest first. */
  mountsBelow(): Promise<string[]>;
  /** Entries in the mount point besides ext4's lost+found. */
  entries(): Promise<string[]>;
  /**
   * Stops every private daemon left in it (processes, mounts, folders), unmounts it, detaches the
   * loop device and removes the image file. Safe to call twice; also run when the test ends.
   * @returns what was still attached to the image file afterwards ([] when all is clean).
   */
  release(): Promise<string[]>;
}

/** Makes, formats and mounts a filesystem of `sizeMiB` MiB. */
export async function mountBoundedDisk(t: Teardowns, o: { sizeMiB: number }): Promise<BoundedDisk> {
  const dir = await mkdtemp('/tmp/soak-');
  // Passable (not listable), as a node's folders are: the private daemons on this disk run
  // builds in a user namespace, and dockerd refuses a data root its remapped root cannot reach.
  await chmod(dir, 0o711);
  const image = path.join(dir, 'disk.img');
  const mountPoint = path.join(dir, 'd');
  let device = '';
  let mounted = false;
  let released: Promise<string[]> | undefined;
  const release = (): Promise<string[]> =>
    (released ??= (async () => {
      if (mounted) {
        // A daemon the agent could not stop (it was killed) keeps the filesystem busy.
        await removeLeftoverDaemons(mountPoint, silentLogger);
        await unmount(mountPoint);
        mounted = false;
      }
      if (device) await run('losetup', ['-d', device]).catch(() => {}); // already detached: fine
      const attached = (await run('losetup', ['-j', image]).catch(() => '')).trim();
      await rm(dir, { recursive: true, force: true });
      return attached ? attached.split('\n') : [];
    })());
  t.teardown(release);

  const file = await open(image, 'w');
  await file.truncate(o.sizeMiB * 1024 * 1024);
  await file.close();
  // -m 0: no blocks reserved for root (the daemons are root and would use them anyway).
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  device = (await run('losetup', ['--find', '--show', image])).trim();
  await mkdir(mountPoint);
  await run('mount', [device, mountPoint]);
  mounted = true;
  const usedBytes = async () => {
    const fs = await statfs(mountPoint);
    return (fs.blocks - fs.bfree) * fs.bsize;
  };
  const fs = await statfs(mountPoint);
  return {
    mountPoint,
    device,
    sizeBytes: fs.blocks * fs.bsize,
    emptyUsedBytes: await usedBytes(),
    usedBytes,
    mountsBelow: async () =>
      (await readFile('/proc/mounts', 'utf8'))
        .split('\n')
        .map((l) => l.split(' ')[1] ?? '')
        .filter((m) => m.startsWith(mountPoint + '/'))
        .sort((a, b) => b.length - a.length),
    entries: async () => (await readdir(mountPoint)).filter((e) => e !== 'lost+found'),
    release,
  };
}

/** Unmounts `mountPoint`, waiting out a short busy spell; lazily when it stays busy. */
async function unmount(mountPoint: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    try {
      await run('umount', [mountPoint]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await run('umount', ['-l', mountPoint]);
}
