import type Docker from 'dockerode';
import type { Teardowns } from './teardowns.js';
import { demux } from './docker.js';

/** A container as a Pod's securityContext makes it: its user, a read-only root, tmpfs mounts. */
export interface RestrictedContainer {
  image: string;
  env: Record<string, string>;
  /** uid:gid; the image's USER when absent. */
  user?: string;
  /** The root filesystem read-only (readOnlyRootFilesystem). */
  readOnly?: boolean;
  /** Path → tmpfs mount options ("" for the defaults), as `docker run --tmpfs`. */
  tmpfs?: Record<string, string>;
  entrypoint?: string[];
}

/** The container's settings; on the host's network, as the environment's dockerd has no bridge. */
function createOptions(o: RestrictedContainer): Docker.ContainerCreateOptions {
  return {
    Image: o.image,
    Entrypoint: o.entrypoint,
    User: o.user,
    Env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`),
    HostConfig: { NetworkMode: 'host', ReadonlyRootfs: o.readOnly, Tmpfs: o.tmpfs },
  };
}

/** Starts the container; it is removed when the test ends. */
export async function startRestrictedContainer(
  t: Teardowns,
  docker: Docker,
  o: RestrictedContainer,
): Promise<Docker.Container> {
  const container = await docker.createContainer(createOptions(o));
  t.teardown(() => container.remove({ force: true }).catch(() => {}));
  await container.start();
  return container;
}

/** Runs the container to its end: its exit code and everything it printed (both streams). */
export async function runToExit(
  t: Teardowns,
  docker: Docker,
  o: RestrictedContainer,
): Promise<{ exitCode: number; output: string }> {
  const container = await startRestrictedContainer(t, docker, o);
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  const output = demux((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer);
  return { exitCode: StatusCode, output };
}
