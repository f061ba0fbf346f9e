import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort, waitForPort } from './ports.js';
import { spawnForTest, tempDir } from './processes.js';

/** A real nats-server with JetStream (file storage in a temp folder) on a random loopback port. */
export async function startNatsServer(t: ExecutionContext): Promise<{ url: string; port: number }> {
  const dir = await tempDir(t, 'slipway-nats-');
  const port = await freePort();
  const server = spawnForTest(t, 'nats-server', ['-js', '-sd', path.join(dir, 'jetstream'), '-a', '127.0.0.1', '-p', String(port)]);
  try {
    await waitForPort(port);
  } catch (err) {
    throw new Error(`nats-server did not start: ${(err as Error).message}\n${server.output()}`);
  }
  return { url: `nats://127.0.0.1:${port}`, port };
}
