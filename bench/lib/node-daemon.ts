import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PrivateDaemon } from '../../agent/executors/private-daemon.js';
import { silentLogger } from '../../common/log.js';
import type { Teardowns } from '../../test/helpers/teardowns.js';

/**
 * BuildKit's step-log limits as scripts/devenv starts the node's daemon (1 GiB each). Given -1,
 * as the agent's private daemons are, dockerd 20.10's BuildKit drops every RUN step's output.
 */
const STEP_LOG_LIMITS = 'BUILDKIT_STEP_LOG_MAX_SIZE=1073741824 BUILDKIT_STEP_LOG_MAX_SPEED=1073741824';

/**
 * A dockerd of the benchmark's own, started like the node's daemon here (no bridge; BuildKit's
 * step-log limits as scripts/devenv sets them), so that other work on the shared daemon (an image
 * GC test, a prune) cannot empty its build cache mid-run. Stopped and removed when `t` ends.
 */
export async function startNodeDaemon(t: Teardowns): Promise<{ dockerHost: string }> {
  const parent = await mkdtemp('/tmp/swb-');
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  // PrivateDaemon sets its own BuildKit environment; a wrapper sets the node's over it.
  const dockerd = path.join(parent, 'dockerd.sh');
  await writeFile(dockerd, `#!/bin/sh\nexec env ${STEP_LOG_LIMITS} dockerd "$@"\n`);
  await chmod(dockerd, 0o755);
  const daemon = await PrivateDaemon.start({
    dockerd,
    rootParent: parent,
    registryMirrors: [],
    startTimeoutMs: 60_000,
    log: silentLogger,
  });
  t.teardown(() => daemon.stop());
  return { dockerHost: `unix://${daemon.socket}` };
}
