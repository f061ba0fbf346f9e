import { mkdtemp, rm } from 'node:fs/promises';
import Docker from 'dockerode';
import { PrivateDaemon } from '../../agent/executors/private-daemon.js';
import { silentLogger } from '../../common/log.js';
import type { Teardowns } from './teardowns.js';

/**
 * A dockerd of the caller's own (agent/executors/private-daemon.ts), standing in for one node's
 * daemon: its own socket and data root, stopped and removed when `t` tears down. An agent builds
 * on it with `dockerHost: \`unix://${socket}\``.
 */
export async function privateDaemon(t: Teardowns): Promise<{ socket: string; docker: Docker }> {
  const parent = await mkdtemp('/tmp/swc-');
  const daemon = await PrivateDaemon.start({ dockerd: 'dockerd', rootParent: parent, registryMirrors: [], startTimeoutMs: 60_000, log: silentLogger });
  t.teardown(async () => {
    await daemon.stop();
    await rm(parent, { recursive: true, force: true });
  });
  return { socket: daemon.socket, docker: new Docker({ socketPath: daemon.socket }) };
}
