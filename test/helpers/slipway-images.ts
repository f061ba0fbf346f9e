import type Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Teardowns } from './teardowns.js';
import { demux } from './docker.js';
import { run } from './processes.js';

/** The repository's root (this file is dist/test/helpers/slipway-images.js). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * `scripts/images ARGS...` on the environment (its SLIPWAY_* settings come from the test's
 * environment); returns the lines it printed: image references.
 */
export async function imagesScript(...args: string[]): Promise<string[]> {
  const out = await run('bash', [path.join(REPO_ROOT, 'scripts/images'), ...args], { cwd: REPO_ROOT });
  return out.split('\n').filter((l) => l.trim());
}

/** A container of `image` started on the host's network; removed when the test ends. */
export async function startContainer(
  t: Teardowns,
  docker: Docker,
  o: { image: string; env: Record<string, string>; binds?: string[]; groupAdd?: string[]; cmd?: string[] },
): Promise<Docker.Container> {
  const container = await docker.createContainer({
    Image: o.image,
    Cmd: o.cmd,
    Env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`),
    // The environment's dockerd has no bridge (scripts/devenv): the host's network it is, which
    // also lets the container reach the test's servers on 127.0.0.1.
    HostConfig: { NetworkMode: 'host', Binds: o.binds, GroupAdd: o.groupAdd },
  });
  t.teardown(() => container.remove({ force: true }).catch(() => {}));
  await container.start();
  return container;
}

/** What the container printed so far, both streams. */
export async function containerOutput(container: Docker.Container): Promise<string> {
  return demux((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer);
}

/** The real uid of the container's main process, as the host's kernel sees it. */
export async function containerUid(container: Docker.Container): Promise<number> {
  const pid = (await container.inspect()).State.Pid;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
}

/** An image's size in MiB, one decimal. */
export async function imageSizeMiB(docker: Docker, image: string): Promise<string> {
  return ((await docker.getImage(image).inspect()).Size / 1024 ** 2).toFixed(1);
}
