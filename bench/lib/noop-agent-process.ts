import { Agent } from '../../agent/agent.js';
import { resolveAgentConfig } from '../../agent/config.js';
import { BenchmarkNoopExecutor } from '../../agent/executors/benchmark-noop-executor.js';
import { silentLogger } from '../../common/log.js';

/**
 * A child process of the benchmark running a share of its no-op agents, so that they run on an
 * event loop of their own and not the benchmark's (see agent-processes.ts, which forks it).
 *
 * argv[2]: a NoopAgentsSpec as JSON. Over the IPC channel it sends `{ kind: 'ready' }` once every
 * agent has started, `{ kind: 'progress', ran }` (distinct attempts run so far, by namespace)
 * whenever that changed, at most every 200 ms, and `{ kind: 'runs', runs }` (every
 * `namespace/build/attempt` with how often it ran) when asked with `{ kind: 'runs' }`. On
 * `{ kind: 'stop' }` it stops its agents and exits; when the benchmark goes away, it exits too.
 */
export interface NoopAgentsSpec {
  natsUrl: string;
  coordinator: string;
  /** One agent per name (its node is `node-<name>`). */
  names: string[];
  concurrency: number;
  workDir: string;
  heartbeatIntervalMs: number;
}

export type FromAgents =
  { kind: 'ready' } | { kind: 'progress'; ran: Record<string, number> } | { kind: 'runs'; runs: [string, number][] };

export type ToAgents = { kind: 'runs' } | { kind: 'stop' };

const send = (m: FromAgents) => process.send!(m);
const spec = JSON.parse(process.argv[2] ?? '') as NoopAgentsSpec;
const executor = new BenchmarkNoopExecutor();
const runs = executor.runtime.runs;
process.on('disconnect', () => process.exit(1));

const agents = await Promise.all(
  spec.names.map((name) =>
    Agent.start(
      resolveAgentConfig({
        natsServers: [spec.natsUrl],
        coordinators: [spec.coordinator],
        name,
        node: `node-${name}`,
        concurrency: spec.concurrency,
        workDir: spec.workDir,
        heartbeatIntervalMs: spec.heartbeatIntervalMs,
        gcIntervalMs: 0,
      }),
      { executor, log: silentLogger },
    ),
  ),
);
send({ kind: 'ready' });

let reported = -1;
const progress = setInterval(() => {
  if (runs.size === reported) return;
  reported = runs.size;
  const ran: Record<string, number> = {};
  for (const key of runs.keys()) {
    const namespace = key.slice(0, key.indexOf('/'));
    ran[namespace] = (ran[namespace] ?? 0) + 1;
  }
  send({ kind: 'progress', ran });
}, 200);

process.on('message', (m: ToAgents) => {
  if (m.kind === 'runs') send({ kind: 'runs', runs: [...runs.entries()] });
  else if (m.kind === 'stop') {
    clearInterval(progress);
    void Promise.all(agents.map((a) => a.stop(0))).finally(() => process.exit(0));
  }
});
