import { chmod, mkdtemp, rm } from 'node:fs/promises';
import Docker from 'dockerode';
import { PrivateDaemon } from '../../agent/executors/private-daemon.js';
import type { DindUserns } from '../../agent/executors/userns-remap.js';
import { silentLogger } from '../../common/log.js';
import type { Teardowns } from './teardowns.js';

/**
 * A dockerd of its own (the agent's private-daemon code, as the dind executor runs it), standing
 * in for another node: its own images, layers and events. Stopped and removed when `t` ends.
 * Like a node's own daemon, it runs containers as the node's root unless `userns` is `remap`.
 */
export async function startPrivateDaemon(
  t: Teardowns,
  userns: DindUserns = 'off',
): Promise<{ socket: string; dockerHost: string; docker: Docker }> {
  const parent = await mkdtemp('/tmp/swd-');
  // A remapped root must get through every folder above its data root.
  if (userns === 'remap') await chmod(parent, 0o711);
  const daemon = await PrivateDaemon.start({
    dockerd: 'dockerd',
    rootParent: parent,
    registryMirrors: [],
    startTimeoutMs: 60_000,
    userns,
    log: silentLogger,
  });
  t.teardown(async () => {
    await daemon.stop();
    await rm(parent, { recursive: true, force: true });
  });
  return {
    socket: daemon.socket,
    dockerHost: `unix://${daemon.socket}`,
    docker: new Docker({ socketPath: daemon.socket }),
  };
}
