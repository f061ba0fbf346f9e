import type { ContainerRuntime } from '../container-runtime/types.js';
import type { GcTarget } from '../gc/image-gc.js';

/**
 * Where a build's Docker work happens. The `host` executor hands out the node's daemon; the
 * `dind` executor starts a private daemon per build or per agent.
 */
export interface Executor {
  readonly name: string;
  /** A daemon for one build; `release` gives it back (and, for a private daemon, may destroy it). */
  acquire(signal: AbortSignal): Promise<ExecutorLease>;
  /**
   * The daemon whose images outlive builds, for the node's image GC: the node's daemon, or the
   * per-agent private one (all of whose images are Slipway's). Undefined when nothing outlives a
   * build (per-build private daemons) or no daemon runs now.
   */
  gcTarget(): GcTarget | undefined;
  /** Stops whatever the executor runs. */
  close(): Promise<void>;
}

export interface ExecutorLease {
  runtime: ContainerRuntime;
  /** True when the daemon went away while the build held it (the build failed for that). */
  lost(): boolean;
  release(): Promise<void>;
}
