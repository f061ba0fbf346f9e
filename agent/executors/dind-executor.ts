import { errorMessage } from '../../common/errors.js';
import type { Isolation } from '../../common/isolation.js';
import type { GcTarget } from '../gc/image-gc.js';
import type { Executor, ExecutorLease, LeaseNeeds } from './executor.js';
import { PrivateDaemon, type PrivateDaemonOptions } from './private-daemon.js';

export type DindMode = 'per-build' | 'per-agent';

export interface DindExecutorOptions extends PrivateDaemonOptions {
  /**
   * per-build: a fresh daemon for every build, destroyed with everything in it afterwards.
   * per-agent: one daemon reused by the agent's builds (its layer cache kept), restarted if it dies.
   */
  mode: DindMode;
}

/**
 * Builds on a private Docker daemon the agent runs itself (in Kubernetes: a process in a
 * privileged agent container, or a privileged sidecar), rather than on the node's. Per-build
 * limits and clean-up come for free; no daemon is ever left behind.
 */
export class DindExecutor implements Executor {
  readonly name = 'dind';
  /**
   * A limited build gets a private daemon started inside a cgroup held to its resources; not
   * with rootless daemons (SLIPWAY_DIND_USERNS=rootless), which are held to no cgroup: such a
   * build then fails `ResourceLimitsUnsupported`, and placement sends it elsewhere.
   */
  readonly limitsDockerfileBuilds: boolean;
  /** In either mode, a build that asks for a daemon of its own (`ownDaemon`) gets one. */
  readonly daemonPerBuild = true;
  private shared: Promise<PrivateDaemon> | undefined;
  /** The per-agent daemon once it answers; cleared when it dies. */
  private sharedReady: PrivateDaemon | undefined;
  private readonly perBuild = new Set<PrivateDaemon>();
  private closed = false;

  constructor(private readonly o: DindExecutorOptions) {
    this.limitsDockerfileBuilds = o.userns !== 'rootless';
  }

  /**
   * `userns` with SLIPWAY_DIND_USERNS=remap or rootless (checked at the agent's start: a rootless
   * daemon's RUN steps are in its user namespace too, root there the daemon's unprivileged user);
   * off: root in a privileged daemon.
   */
  async isolation(): Promise<Isolation> {
    return this.o.userns === 'off' ? 'privileged-root' : 'userns';
  }

  /**
   * A build that needs its daemon limited, or its own daemon (`ownDaemon`), gets a daemon of its
   * own even in per-agent mode (the shared one cannot hold one build to limits, nor be handed to
   * one build's builder): it starts cold, and is destroyed after.
   */
  async acquire(_signal?: AbortSignal, needs: LeaseNeeds = {}): Promise<ExecutorLease> {
    const limits =
      this.limitsDockerfileBuilds && needs.daemonLimits && hasLimits(needs.daemonLimits)
        ? needs.daemonLimits
        : undefined;
    if (this.o.mode === 'per-build' || limits || needs.ownDaemon) {
      const daemon = await PrivateDaemon.start(this.o, undefined, limits);
      this.perBuild.add(daemon);
      return {
        runtime: daemon.runtime,
        limited: this.limitsDockerfileBuilds,
        privateSocket: daemon.socket,
        lost: () => daemon.died,
        release: async () => {
          this.perBuild.delete(daemon);
          await daemon.stop();
        },
      };
    }
    const daemon = await this.sharedDaemon();
    return { runtime: daemon.runtime, limited: false, lost: () => daemon.died, release: async () => {} };
  }

  /** The per-agent daemon, started on first use and again after it died. */
  private sharedDaemon(): Promise<PrivateDaemon> {
    this.shared ??= PrivateDaemon.start(this.o, (dead) => {
      if (this.closed) return;
      this.o.log.warn("the agent's private Docker daemon died; starting a new one", { root: dead.root });
      this.shared = undefined;
      this.sharedReady = undefined;
      // Clear away what the dead one left, then have a new one ready for the next build.
      void dead
        .stop()
        .then(() =>
          this.sharedDaemon().catch((err) =>
            this.o.log.error('restarting the private daemon failed', { error: errorMessage(err) }),
          ),
        );
    }).then(
      (daemon) => (this.sharedReady = daemon),
      (err: unknown) => {
        this.shared = undefined;
        throw err;
      },
    );
    return this.shared;
  }

  gcTarget(): GcTarget | undefined {
    const daemon = this.sharedReady;
    return daemon && !daemon.died ? { runtime: daemon.runtime, ownsDaemon: true } : undefined;
  }

  /** The per-agent daemon's pid (for supervision checks and tests). */
  async sharedPid(): Promise<number | undefined> {
    return this.o.mode === 'per-agent' ? (await this.sharedDaemon()).pid : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const shared = this.shared;
    this.shared = undefined;
    this.sharedReady = undefined;
    await Promise.all([
      ...[...this.perBuild].map((d) => d.stop()),
      shared?.then(
        (d) => d.stop(),
        () => {},
      ),
    ]);
  }
}

function hasLimits(l: NonNullable<LeaseNeeds['daemonLimits']>): boolean {
  return !!l.memoryBytes || !!(l.cpuQuota && l.cpuPeriod);
}
