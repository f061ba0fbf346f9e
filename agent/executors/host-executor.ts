import { DockerRuntime } from '../container-runtime/docker-runtime.js';
import type { ContainerRuntime } from '../container-runtime/types.js';
import type { GcTarget } from '../gc/image-gc.js';
import type { Executor, ExecutorLease } from './executor.js';

/**
 * Builds on the node's own Docker daemon: layers and BuildKit's cache are shared by every build
 * on the node. Limits apply per container (Source-to-Image's); the shared daemon cannot hold a
 * Dockerfile build (BuildKit) to limits, so its leases are never `limited`.
 */
export class HostExecutor implements Executor {
  readonly name = 'host';
  readonly limitsDockerfileBuilds = false;
  readonly runtime: ContainerRuntime;

  constructor(dockerHost: string) {
    this.runtime = new DockerRuntime(dockerHost);
  }

  async acquire(): Promise<ExecutorLease> {
    return { runtime: this.runtime, limited: false, lost: () => false, release: async () => {} };
  }

  gcTarget(): GcTarget {
    return { runtime: this.runtime, ownsDaemon: false };
  }

  async close(): Promise<void> {}
}
