import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Teardowns } from '../../test/helpers/teardowns.js';
import type { FromAgents, NoopAgentsSpec, ToAgents } from './noop-agent-process.js';

const ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'noop-agent-process.js');

/** No-op agents spread over child processes (noop-agent-process.ts), off the benchmark's event loop. */
export interface AgentProcesses {
  /** The child processes' ids, for their CPU time in /proc. */
  readonly pids: number[];
  /** Distinct build attempts of `namespace` run so far, over every process (as last reported, ≤ 200 ms old). */
  ran(namespace: string): number;
  /** How often each `namespace/build/attempt` ran, summed over every process. */
  runs(): Promise<Map<string, number>>;
}

/**
 * Starts `o.agents` no-op agents (named `bench-agent-<i>`) in `o.processes` child processes,
 * the agents dealt out in turn; resolves when every one has started. Stopped at teardown (a
 * process that has not exited 10 s after it was told to stop is killed).
 */
export async function startAgentProcesses(
  t: Teardowns,
  o: Omit<NoopAgentsSpec, 'names'> & {
    agents: number;
    processes: number;
    /**
     * The processes' nice value (0–19; 0: as the benchmark's). On a machine of few cores a
     * higher one keeps the agents from taking CPU the coordinator would use: the scheduler gives
     * every runnable process its share, so more agent processes would mean less coordinator.
     */
    nice?: number;
  },
): Promise<AgentProcesses> {
  const count = Math.max(1, Math.min(o.processes, o.agents));
  const children: { child: ChildProcess; ran: Record<string, number>; exited: Promise<void> }[] = [];
  for (let p = 0; p < count; p++) {
    const names = Array.from({ length: o.agents }, (_, i) => i)
      .filter((i) => i % count === p)
      .map((i) => `bench-agent-${i}`);
    const spec: NoopAgentsSpec = {
      natsUrl: o.natsUrl,
      coordinator: o.coordinator,
      names,
      concurrency: o.concurrency,
      workDir: o.workDir,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
    };
    const child = fork(ENTRY, [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (o.nice) setPriority(child.pid!, o.nice);
    const entry = { child, ran: {} as Record<string, number>, exited };
    child.on('message', (m: FromAgents) => {
      if (m.kind === 'progress') entry.ran = m.ran;
    });
    children.push(entry);
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send({ kind: 'stop' } satisfies ToAgents);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    });
  }
  await Promise.all(
    children.map(
      ({ child, exited }, p) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: FromAgents) => {
            if (m.kind !== 'ready') return;
            child.off('message', onMessage);
            resolve();
          };
          child.on('message', onMessage);
          void exited.then(() => reject(new Error(`agent process ${p} exited before its agents started`)));
        }),
    ),
  );
  return {
    pids: children.map((c) => c.child.pid!),
    ran: (namespace) => children.reduce((sum, c) => sum + (c.ran[namespace] ?? 0), 0),
    async runs() {
      const answers = await Promise.all(
        children.map(
          ({ child }) =>
            new Promise<[string, number][]>((resolve) => {
              const onMessage = (m: FromAgents) => {
                if (m.kind !== 'runs') return;
                child.off('message', onMessage);
                resolve(m.runs);
              };
              child.on('message', onMessage);
              child.send({ kind: 'runs' } satisfies ToAgents);
            }),
        ),
      );
      const merged = new Map<string, number>();
      for (const [key, n] of answers.flat()) merged.set(key, (merged.get(key) ?? 0) + n);
      return merged;
    },
  };
}
