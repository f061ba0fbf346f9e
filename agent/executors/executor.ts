import type { ContainerRuntime } from '../container-runtime/types.js';

/**
 * Where a build's Docker work happens. The `host` executor hands out the node's daemon; the
 * `dind` executor (a later module beside this one) starts a private daemon per build or per agent.
 */
export interface Executor {
  readonly name: string;
  /** A daemon for one build; `release` gives it back (and, for a private daemon, may destroy it). */
  acquire(signal: AbortSignal): Promise<ExecutorLease>;
  /** Stops whatever the executor runs. */
  close(): Promise<void>;
}

export interface ExecutorLease {
  runtime: ContainerRuntime;
  /** True when the daemon went away while the build held it (the build failed for that). */
  lost(): boolean;
  release(): Promise<void>;
}
