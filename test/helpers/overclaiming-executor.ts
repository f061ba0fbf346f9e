import type { Executor } from '../../agent/executors/executor.js';
import { HostExecutor } from '../../agent/executors/host-executor.js';

/**
 * The node's daemon (the host executor at `dockerHost`) behind an executor that advertises what
 * `says` claims (limits, a daemon per build, its isolation) and gives none of it: placement
 * sends it the builds that need those, so a test sees the agent's own backstop refuse them.
 */
export function overclaimingExecutor(
  dockerHost: string,
  says: Partial<Pick<Executor, 'limitsDockerfileBuilds' | 'daemonPerBuild' | 'isolation'>>,
): Executor {
  const host = new HostExecutor(dockerHost);
  return {
    name: 'host',
    limitsDockerfileBuilds: says.limitsDockerfileBuilds ?? false,
    daemonPerBuild: says.daemonPerBuild ?? false,
    isolation: says.isolation ?? (() => host.isolation()),
    acquire: () => host.acquire(),
    gcTarget: () => host.gcTarget(),
    close: () => host.close(),
  };
}
