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
 * One nats-server process that can be killed and started again with the same arguments (so the
 * same ports and store): the piece startNatsServer and startNatsCluster share.
 */
export interface NatsProcess {
  /** The running process's id; a new one after each start. */
  readonly pid: number;
  /** Whether a process is running (started and not yet exited). */
  readonly running: boolean;
  /** Starts the process (again) and waits until it accepts connections on `port`. */
  start(): Promise<void>;
  /** Sends `signal` (SIGKILL unless told) and waits for the exit; nothing when not running. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A nats-server started with `args`, ready when something accepts connections on `host`:`port`; killed when the test ends. */
export async function natsProcess(
  t: Teardowns,
  args: string[],
  port: number,
  host = '127.0.0.1',
): Promise<NatsProcess> {
  let server: (ChildProcess & { output: () => string }) | undefined;
  const running = () => server !== undefined && server.exitCode === null && server.signalCode === null;
  const p: NatsProcess = {
    get pid() {
      return server?.pid ?? 0;
    },
    get running() {
      return running();
    },
    async start() {
      const s = spawnForTest(t, 'nats-server', args);
      server = s;
      try {
        await waitForPort(port, undefined, host);
      } catch (err) {
        throw new Error(`nats-server did not start: ${(err as Error).message}\n${s.output()}`, { cause: err });
      }
    },
    async kill(signal = 'SIGKILL') {
      if (!server || !running()) return;
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill(signal);
      await exited;
    },
  };
  await p.start();
  return p;
}

/**
 * A real nats-server with JetStream (file storage in a temp folder) on a random port of
 * loopback, or of `host` (an address of this machine, e.g. a pod network's gateway).
 * `config` (e.g. an `authorization` block) goes into a configuration file it is started with;
 * without one, anyone may do anything.
 */
export async function startNatsServer(
  t: Teardowns,
  o: { monitor?: boolean; config?: string; host?: string } = {},
): Promise<NatsServer> {
  const dir = await tempDir(t, 'slipway-nats-');
  const configFile = path.join(dir, 'nats.conf');
  if (o.config) await writeFile(configFile, o.config, { mode: 0o600 });
  const port = await freePort();
  const monitorPort = o.monitor ? await freePort() : undefined;
  const monitor = monitorPort ? ['-m', String(monitorPort)] : [];
  const config = o.config ? ['-c', configFile] : [];
  const host = o.host ?? '127.0.0.1';
  const server = await natsProcess(
    t,
    [...config, '-js', '-sd', path.join(dir, 'jetstream'), '-a', host, '-p', String(port), ...monitor],
    port,
    host,
  );
  return {
    url: `nats://${host}:${port}`,
    port,
    monitorUrl: monitorPort ? `http://127.0.0.1:${monitorPort}` : undefined,
    get pid() {
      return server.pid;
    },
    async restart(o = {}) {
      await server.kill(o.signal ?? 'SIGKILL');
      await new Promise((r) => setTimeout(r, o.downMs ?? 1000));
      await server.start();
    },
  };
}
