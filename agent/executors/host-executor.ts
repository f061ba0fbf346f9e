import { DockerRuntime } from '../container-runtime/docker-runtime.js';
import type { ContainerRuntime } from '../container-runtime/types.js';
import type { GcTarget } from '../gc/image-gc.js';
import type { Executor, ExecutorLease } from './executor.js';

/**
 * Builds on the node's own Docker daemon: layers are shared by every build on the node; limits
 * are applied per build container (the build's RUN steps), not to the daemon.
 */
export class HostExecutor implements Executor {
  readonly name = 'host';
  readonly runtime: ContainerRuntime;

  constructor(dockerHost: string) {
    this.runtime = new DockerRuntime(dockerHost);
  }

  async acquire(): Promise<ExecutorLease> {
    return { runtime: this.runtime, lost: () => false, release: async () => {} };
  }

  gcTarget(): GcTarget {
    return { runtime: this.runtime, ownsDaemon: false };
  }

  async close(): Promise<void> {}
}
