import type { ServiceProcess } from '../service-processes.js';

/**
 * One coordinator, agent or NATS node of a chaos run that can be killed and started again. It
 * keeps every process it started (their logs outlive them: a killed agent's "outcome refused"
 * lines still count) and how often it was restarted.
 */
export interface Supervised {
  readonly name: string;
  /** The running process's id, 0 while it is down. */
  readonly pid: number;
  restarts: number;
  /** kill -9 and wait for the exit. */
  kill(): Promise<void>;
  /** Starts it again (same ports, names and stores). */
  start(): Promise<void>;
  /** SIGSTOP (true) or SIGCONT (false). */
  freeze(stopped: boolean): void;
  /** Every JSON log line of every process it ran, oldest process first. */
  logs(): Record<string, unknown>[];
}

/** A coordinator or agent process (test/helpers/service-processes.ts), started again by `launch`. */
export async function supervisedService(name: string, launch: () => Promise<ServiceProcess>): Promise<Supervised> {
  const instances: ServiceProcess[] = [await launch()];
  let up = true;
  const current = () => instances[instances.length - 1]!;
  const s: Supervised = {
    name,
    get pid() {
      return up ? current().pid : 0;
    },
    restarts: 0,
    async kill() {
      if (!up) return;
      const p = current();
      p.signal('SIGKILL');
      await p.exited();
      up = false;
    },
    async start() {
      if (up) return;
      instances.push(await launch());
      up = true;
      s.restarts++;
    },
    freeze(stopped) {
      if (up) current().signal(stopped ? 'SIGSTOP' : 'SIGCONT');
    },
    logs: () => instances.flatMap((p) => p.logs()),
  };
  return s;
}

/** A NATS node as the cluster helper gives it: killed and started again on its ports and store. */
export interface NatsNodeControl {
  readonly pid: number;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again and waits until it is healthy (JetStream caught up). */
  restart(): Promise<void>;
}

export function supervisedNatsNode(name: string, node: NatsNodeControl): Supervised {
  let up = true;
  const s: Supervised = {
    name,
    get pid() {
      return up ? node.pid : 0;
    },
    restarts: 0,
    async kill() {
      await node.kill('SIGKILL');
      up = false;
    },
    async start() {
      if (up) return;
      await node.restart();
      up = true;
      s.restarts++;
    },
    freeze() {
      throw new Error('NATS nodes are killed, not frozen');
    },
    logs: () => [],
  };
  return s;
}
