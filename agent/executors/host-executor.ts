import { DockerRuntime } from '../container-runtime/docker-runtime.js';
import type { ContainerRuntime } from '../container-runtime/types.js';
import type { Isolation } from '../../common/isolation.js';
import type { GcTarget } from '../gc/image-gc.js';
import type { Executor, ExecutorLease } from './executor.js';

/**
 * Builds on a Docker daemon it does not run: the node's own, whose layers and BuildKit's cache
 * are shared by every build on the node, or (`privateDaemon`) one that is Slipway's alone, such
 * as a dind sidecar in the agent's Pod, where image GC may take anything no build uses. Limits
 * apply per container (Source-to-Image's); such a daemon cannot hold a Dockerfile build
 * (BuildKit) to limits, so its leases are never `limited`.
 */
export class HostExecutor implements Executor {
  readonly name = 'host';
  readonly limitsDockerfileBuilds = false;
  /** Its one daemon is shared by every build (or is the node's): never handed to a builder. */
  readonly daemonPerBuild = false;
  readonly runtime: ContainerRuntime;
  private readonly docker: DockerRuntime;

  /** @param privateDaemon whether everything on the daemon is Slipway's (SLIPWAY_DOCKER_PRIVATE). */
  constructor(
    dockerHost: string,
    private readonly privateDaemon = false,
  ) {
    this.runtime = this.docker = new DockerRuntime(dockerHost);
  }

  /**
   * `userns` when the daemon says it remaps (or is rootless): the chart's dind sidecar with
   * agent.dind.usernsRemap. Otherwise the node's root: `privileged-root` for a private daemon (a
   * privileged sidecar), `host-root` for the node's own. A daemon that cannot be asked counts as
   * not remapped (and is asked again next time).
   */
  async isolation(): Promise<Isolation> {
    const userns = await this.docker.runsInUserNamespace().catch(() => false);
    return userns ? 'userns' : this.privateDaemon ? 'privileged-root' : 'host-root';
  }

  async acquire(): Promise<ExecutorLease> {
    return { runtime: this.runtime, limited: false, lost: () => false, release: async () => {} };
  }

  gcTarget(): GcTarget {
    return { runtime: this.runtime, ownsDaemon: this.privateDaemon };
  }

  async close(): Promise<void> {}
}
