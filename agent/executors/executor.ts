import type { ContainerLimits, ContainerRuntime } from '../container-runtime/types.js';
import type { Isolation } from '../../common/isolation.js';
import type { GcTarget } from '../gc/image-gc.js';

/**
 * Where a build's Docker work happens. The `host` executor hands out the node's daemon; the
 * `dind` executor starts a private daemon per build or per agent.
 */
export interface Executor {
  readonly name: string;
  /**
   * Whether it can hold a Dockerfile build to the build's `resources`: it gives such a build a
   * daemon limited as a whole (a lease with `limited`). BuildKit ignores a build's own limits, so
   * where this is false such a build fails `ResourceLimitsUnsupported`; the heartbeat advertises
   * it so that placement sends those builds only to agents where it is true.
   */
  readonly limitsDockerfileBuilds: boolean;
  /**
   * Whether it starts a Docker daemon of a build's own when the build asks (`needs.ownDaemon`),
   * destroyed after it: what a custom builder's `exposeDockerSocket` is given (the lease's
   * `privateSocket`). The heartbeat advertises it, so that placement sends such builds only where
   * it is true; one that comes here anyway fails `DockerSocketNotPrivate`.
   */
  readonly daemonPerBuild: boolean;
  /**
   * What a build's root is on the node (common/isolation.ts): `userns` when its daemon runs
   * containers in a user namespace. The heartbeat advertises it, so that placement sends builds
   * that must be unprivileged only where it is `userns`; such a build that comes here anyway fails
   * `UnprivilegedRequired`. Never throws: what cannot be found out is not `userns`.
   */
  isolation(): Promise<Isolation>;
  /**
   * A daemon for one build; `release` gives it back (and, for a private daemon, may destroy it).
   * With `needs.daemonLimits`, the executor gives a daemon held to those limits as a whole when it
   * can (the lease says whether it did).
   */
  acquire(signal: AbortSignal, needs?: LeaseNeeds): Promise<ExecutorLease>;
  /**
   * The daemon whose images outlive builds, for the node's image GC: the node's daemon, or the
   * per-agent private one (all of whose images are Slipway's). Undefined when nothing outlives a
   * build (per-build private daemons) or no daemon runs now.
   */
  gcTarget(): GcTarget | undefined;
  /** Stops whatever the executor runs. */
  close(): Promise<void>;
}

export interface LeaseNeeds {
  /**
   * Limits for everything the daemon runs for the build. A Dockerfile build needs them: BuildKit
   * ignores per-build limits, so only a daemon started inside a limited cgroup holds it to them.
   */
  daemonLimits?: ContainerLimits;
  /**
   * A daemon of the build's own (a custom builder given the daemon): an executor that can start
   * one does, even when it otherwise shares one; its lease then has `privateSocket`.
   */
  ownDaemon?: boolean;
}

export interface ExecutorLease {
  runtime: ContainerRuntime;
  /** Whether the daemon, and so everything it runs, is held to the `daemonLimits` asked for. */
  limited: boolean;
  /**
   * The socket (a path on this machine) of a daemon that is this build's alone, started for it
   * and destroyed after: what a custom builder's `exposeDockerSocket` may be given. Undefined
   * when the daemon is shared (the node's, or the agent's per-agent one), so never handed out.
   */
  privateSocket?: string;
  /** True when the daemon went away while the build held it (the build failed for that). */
  lost(): boolean;
  release(): Promise<void>;
}
