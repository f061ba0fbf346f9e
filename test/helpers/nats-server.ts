import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Teardowns } from './teardowns.js';
import { freePort, waitForPort } from './ports.js';
import { spawnForTest, tempDir } from './processes.js';

export interface NatsServer {
  url: string;
  port: number;
  /** http://127.0.0.1:PORT of its monitoring endpoint (/varz, /jsz), when asked for. */
  monitorUrl?: string;
  /** The server process's id (a new one after a restart). */
  readonly pid: number;
  /** Kills the server (SIGKILL unless told) and starts it again on the same port and store. */
  restart(options?: { signal?: NodeJS.Signals; downMs?: number }): Promise<void>;
}

/**
 * A real nats-server with JetStream (file storage in a temp folder) on a random loopback port.
 * `config` (e.g. an `authorization` block) goes into a configuration file it is started with;
 * without one, anyone may do anything.
 */
export async function startNatsServer(t: Teardowns, o: { monitor?: boolean; config?: string } = {}): Promise<NatsServer> {
  const dir = await tempDir(t, 'slipway-nats-');
  const configFile = path.join(dir, 'nats.conf');
  if (o.config) await writeFile(configFile, o.config, { mode: 0o600 });
  const port = await freePort();
  const monitorPort = o.monitor ? await freePort() : undefined;
  let server: ChildProcess & { output: () => string };
  const start = async () => {
    const monitor = monitorPort ? ['-m', String(monitorPort)] : [];
    const config = o.config ? ['-c', configFile] : [];
    server = spawnForTest(t, 'nats-server', [...config, '-js', '-sd', path.join(dir, 'jetstream'), '-a', '127.0.0.1', '-p', String(port), ...monitor]);
    try {
      await waitForPort(port);
    } catch (err) {
      throw new Error(`nats-server did not start: ${(err as Error).message}\n${server.output()}`);
    }
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl: monitorPort ? `http://127.0.0.1:${monitorPort}` : undefined,
    get pid() {
      return server.pid!;
    },
    async restart(o = {}) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill(o.signal ?? 'SIGKILL');
      await exited;
      await new Promise((r) => setTimeout(r, o.downMs ?? 1000));
      await start();
    },
  };
}
