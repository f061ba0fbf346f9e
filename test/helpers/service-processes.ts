import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Teardowns } from './teardowns.js';
import { testEnvironment } from './environment.js';
import { waitForPort } from './ports.js';
import { TEST_SECRET_KEY } from './slipway.js';

/** The repository root, from dist/test/helpers/. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A coordinator or agent running as its own process, as in production. */
export interface ServiceProcess {
  readonly pid: number;
  /** Every JSON log line it printed so far. */
  logs(): Record<string, unknown>[];
  /** Resolves when a log line matching `match` appears (or rejects after `timeoutMs`). */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited(): Promise<void>;
}

function startService(
  t: Teardowns,
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): ServiceProcess {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(ROOT, entry)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        lines.push({ msg: p });
      }
    }
    waiters.splice(0).forEach((w) => w());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await exit;
  });
  const svc: ServiceProcess = {
    pid: child.pid!,
    logs: () => lines,
    async waitForLog(match, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(match);
        if (found) return found;
        if (Date.now() > until)
          throw new Error(
            `no matching log line from ${entry} within ${timeoutMs} ms:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
          );
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 200))]);
      }
    },
    signal: (sig) => child.kill(sig),
    exited: () => exit,
  };
  return svc;
}

/** A coordinator process on a fixed port, so one started again after a kill has the same address. */
export async function startCoordinatorProcess(
  t: Teardowns,
  o: { natsUrl: string; port: number; id?: string; env?: Record<string, string>; nodeArgs?: string[] },
): Promise<ServiceProcess> {
  const svc = startService(
    t,
    'dist/coordinator/main.js',
    {
      SLIPWAY_NATS_URL: o.natsUrl,
      SLIPWAY_GRPC_LISTEN: `127.0.0.1:${o.port}`,
      SLIPWAY_COORDINATOR_ID: o.id ?? `coordinator-${o.port}`,
      SLIPWAY_AGENT_GRACE_MS: '3000',
      SLIPWAY_SECRET_KEY: TEST_SECRET_KEY.toString('base64'),
      ...o.env,
    },
    o.nodeArgs,
  );
  await waitForPort(o.port).catch((err: Error) => {
    throw new Error(
      `${err.message}; the coordinator said:\n${svc
        .logs()
        .map((l) => JSON.stringify(l))
        .join('\n')}`,
    );
  });
  return svc;
}

/** An agent process building on the environment's Docker daemon. */
export async function startAgentProcess(
  t: Teardowns,
  o: {
    natsUrl: string;
    coordinator: string;
    name: string;
    workDir: string;
    drainTimeoutMs?: number;
    env?: Record<string, string>;
  },
): Promise<ServiceProcess> {
  const svc = startService(t, 'dist/agent/main.js', {
    SLIPWAY_NATS_URL: o.natsUrl,
    SLIPWAY_COORDINATOR_ADDR: o.coordinator,
    SLIPWAY_DOCKER_HOST: testEnvironment().dockerHost,
    SLIPWAY_AGENT_NAME: o.name,
    SLIPWAY_NODE_NAME: `node-of-${o.name}`,
    SLIPWAY_AGENT_WORK_DIR: o.workDir,
    SLIPWAY_HEARTBEAT_INTERVAL_MS: '500',
    SLIPWAY_DRAIN_TIMEOUT_MS: String(o.drainTimeoutMs ?? 0),
    // Image GC off: it would remove other tests' images.
    SLIPWAY_GC_INTERVAL_MS: '0',
    SLIPWAY_LOG_LEVEL: 'info',
    ...o.env,
  });
  await svc.waitForLog((l) => l.msg === 'agent started');
  return svc;
}
