import { Agent } from '../agent/agent.js';
import { resolveAgentConfig } from '../agent/config.js';
import { BenchmarkNoopExecutor } from '../agent/executors/benchmark-noop-executor.js';
import { SlipwayClient } from '../cli/client.js';
import { silentLogger } from '../common/log.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { tempDir } from '../test/helpers/processes.js';
import { TeardownStack } from '../test/helpers/teardowns.js';
import { startBenchCoordinator } from './lib/bench-coordinator.js';
import { HoldingExecutor } from './lib/holding-executor.js';
import { cpuSecondsOf, sleep } from './lib/proc.js';
import { ms, ratio, type BenchResult } from './lib/report.js';
import { summarize, type Summary } from './lib/stats.js';

export interface CostGrowthOptions {
  /** Builds waiting for capacity during the second measurement. */
  waiting: number;
  /** Builds measured one at a time, with none waiting and then with `waiting` waiting. */
  samples: number;
  /** Configs the waiting builds are spread over (one config's build counter is one key). */
  configs: number;
  /** StartBuild calls in flight while the waiting builds are made. */
  inFlight: number;
  /** How long after the first waiting build was started every one must show WaitingForCapacity. */
  settleTimeoutMs: number;
  /** Where the coordinator's CPU profile (of the whole run) goes; none when undefined. */
  cpuProfileDir?: string;
}

const NAMESPACE = 'default';
/** Unmeasured builds before each measurement. */
const WARM_UP = 10;

/**
 * Cost growth (issue #21, must-show 3): does a new build start as fast with a long queue of
 * waiting builds as with none? One coordinator process, one nats-server, agents in this process
 * on the no-op executor: 3 idle agents (`pool=open`, 2 slots each) and 2 full ones (`pool=busy`,
 * 1 slot each, each holding a build that does not end until the benchmark is over).
 *
 * StartBuild → Running of `samples` builds of a config without a nodeSelector, one at a time,
 * each waited for: first with nothing waiting; then again after `waiting` builds of configs
 * selecting `pool=busy` were started, in the same namespace, and every one of them shows
 * WaitingForCapacity (the busy agents match them but have no free slot). Those are queued
 * builds placement must look at on every pass, the costliest kind of wait: they go through
 * every check (push secret, selector, resources, schedulable, affinity, room) before they wait.
 * Reported: both p99s and their ratio (target ≤ 1.5×), how long the waiting builds took to
 * make and to settle, and the coordinator's cores at rest before and with them. Checked: every
 * measured build Complete and run once, every waiting build still Pending.
 */
export async function costGrowth(o: CostGrowthOptions): Promise<BenchResult> {
  const stack = new TeardownStack();
  try {
    const nats = await startNatsServer(stack);
    const bench = await startBenchCoordinator(stack, nats.url, o.cpuProfileDir);
    const { process: coordinator, address } = bench;
    // The waiting builds are listed in one answer (ListBuilds is not paginated here).
    const clients = Array.from(
      { length: 4 },
      () => new SlipwayClient(address, 120_000, { 'grpc.max_receive_message_length': 256 * 2 ** 20 }),
    );
    stack.teardown(() => clients.forEach((c) => c.close()));
    const client = clients[0]!;

    const work = await tempDir(stack, 'slipway-bench-cost-');
    const idle = new BenchmarkNoopExecutor();
    const busy = new HoldingExecutor();
    const agents: Agent[] = [];
    // Stopped after the held builds are let go (the stack unwinds in reverse).
    stack.teardown(() => Promise.all(agents.map((a) => a.stop(0))));
    stack.teardown(() => busy.release());
    const pools = [
      { pool: 'open', count: 3, concurrency: 2, executor: idle },
      { pool: 'busy', count: 2, concurrency: 1, executor: busy },
    ];
    for (const p of pools)
      for (let i = 0; i < p.count; i++)
        agents.push(
          await Agent.start(
            resolveAgentConfig({
              natsServers: [nats.url],
              coordinators: [address],
              name: `${p.pool}-${i}`,
              node: `${p.pool}-node-${i}`,
              nodeLabels: { pool: p.pool },
              concurrency: p.concurrency,
              workDir: work,
              heartbeatIntervalMs: 2000,
              gcIntervalMs: 0,
            }),
            { executor: p.executor, log: silentLogger },
          ),
        );

    const config = async (name: string, nodeSelector?: Record<string, string>) =>
      client.createBuildConfig({
        metadata: { name, namespace: NAMESPACE },
        spec: {
          source: { dockerfile: 'FROM scratch\n' },
          strategy: { docker: {} },
          output: { image: `bench.invalid/cost/${name}:latest` },
          nodeSelector,
        },
      });
    await config('new');
    for (let c = 0; c < o.configs; c++) await config(`busy-${c}`, { pool: 'busy' });

    // Fill the busy agents' slots.
    const held = await Promise.all([0, 1].map(() => client.startBuild({ namespace: NAMESPACE, configName: 'busy-0' })));
    for (const b of held)
      await until(
        `${b.metadata!.name} Running`,
        async () => (await client.getBuild(NAMESPACE, b.metadata!.name)).status!.phase === 'Running',
      );

    const problems: string[] = [];
    const measured: string[] = [];
    /** `count` builds of config `new`, one at a time; their StartBuild → Running in ms. */
    const oneAtATime = async (count: number, keep: boolean): Promise<number[]> => {
      const latencies: number[] = [];
      for (let i = 0; i < count; i++) {
        const b = await client.startBuild({ namespace: NAMESPACE, configName: 'new' });
        const final = await client.waitForBuild(NAMESPACE, b.metadata!.name);
        measured.push(final.metadata!.name);
        if (final.status!.phase !== 'Complete')
          problems.push(`${final.metadata!.name}: ${final.status!.phase} ${final.status!.message}`);
        else if (keep) latencies.push(startLatency(final));
      }
      return latencies;
    };
    const coresAtRest = async () => {
      const t0 = Date.now();
      const c0 = await cpuSecondsOf(coordinator.pid);
      await sleep(5000);
      return ((await cpuSecondsOf(coordinator.pid)) - c0) / ((Date.now() - t0) / 1000);
    };

    await oneAtATime(WARM_UP, false);
    const none = summarize(await oneAtATime(o.samples, true));
    progress(`none waiting: p99 ${ms(none.p99)}`);
    const restNone = await coresAtRest();

    // The waiting builds: started as fast as the coordinator takes them.
    const t0 = Date.now();
    let next = 0;
    const waitingNames: string[] = [];
    await Promise.all(
      Array.from({ length: o.inFlight }, async (_, w) => {
        const c = clients[w % clients.length]!;
        for (let i = next++; i < o.waiting; i = next++) {
          const b = await c.startBuild({ namespace: NAMESPACE, configName: `busy-${i % o.configs}` });
          waitingNames.push(b.metadata!.name);
        }
      }),
    );
    const madeMs = Date.now() - t0;
    progress(`${o.waiting} waiting builds started in ${(madeMs / 1000).toFixed(1)} s`);
    // Settled: every one of them has its waiting reason written (the scheduler writes a bounded
    // number a pass, longest unwritten first), so what follows is the steady cost of the queue,
    // not its making. Watched on the newest few (GetBuild), the whole queue listed only when
    // they are: a listing of 10,000 builds every few seconds would slow what it waits for. A
    // queue not settled by the deadline is measured as it is, and the row says so.
    let settledMs: number | undefined;
    let remaining = waitingNames;
    const listRemaining = async () => {
      const pending = await client.listBuilds({ namespace: NAMESPACE, phase: 'Pending' });
      const notYet = new Set(
        pending.filter((b) => b.status!.reason !== 'WaitingForCapacity').map((b) => b.metadata!.name),
      );
      remaining = remaining.filter((n) => notYet.has(n));
      progress(
        `${o.waiting - remaining.length} of ${o.waiting} WaitingForCapacity after ${((Date.now() - t0) / 1000).toFixed(0)} s`,
      );
    };
    for (const deadline = t0 + o.settleTimeoutMs; settledMs === undefined;) {
      if (Date.now() >= deadline) {
        await listRemaining();
        break;
      }
      const newest = await Promise.all(remaining.slice(-10).map((n) => client.getBuild(NAMESPACE, n)));
      if (newest.some((b) => b.status!.reason !== 'WaitingForCapacity')) {
        await sleep(1000);
        continue;
      }
      await listRemaining();
      if (remaining.length === 0) settledMs = Date.now() - t0;
    }
    const restWaiting = await coresAtRest();

    await oneAtATime(WARM_UP, false);
    const waiting = summarize(await oneAtATime(o.samples, true));

    // Exactly once, and the queue untouched.
    const runs = idle.runtime.runs;
    const twice = measured.filter((n) => (runs.get(`${NAMESPACE}/${n}/1`) ?? 0) !== 1);
    if (twice.length > 0) problems.push(`${twice.length} measured builds did not run exactly once (e.g. ${twice[0]})`);
    const stillPending = new Set(
      (await client.listBuilds({ namespace: NAMESPACE, phase: 'Pending' })).map((b) => b.metadata!.name),
    );
    const left = waitingNames.filter((n) => !stillPending.has(n));
    if (left.length > 0) problems.push(`${left.length} waiting builds are no longer Pending (e.g. ${left[0]})`);
    const ranElsewhere = [...runs.keys()].filter((k) => k.includes('/busy-'));
    if (ranElsewhere.length > 0)
      problems.push(`${ranElsewhere.length} waiting builds ran on an idle agent (e.g. ${ranElsewhere[0]})`);

    const growth = waiting.p99 / none.p99;
    // The profile is written when the coordinator exits.
    const profile = o.cpuProfileDir ? await bench.stop() : [];
    const row = (s: Summary) => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)}`;
    return {
      name: 'cost growth',
      rows: [
        { metric: `StartBuild → Running p50 / p95 / p99, none waiting (${none.n} builds)`, value: row(none) },
        {
          metric: `StartBuild → Running p50 / p95 / p99, ${o.waiting} waiting (${waiting.n} builds)`,
          value: row(waiting),
        },
        {
          metric: `p99 with ${o.waiting} waiting / with none`,
          value: ratio(growth),
          target: '≤ 1.5×',
          met: growth <= 1.5,
        },
        {
          metric: `${o.waiting} waiting builds: started in / all WaitingForCapacity after`,
          value: `${(madeMs / 1000).toFixed(1)} s / ${settledMs === undefined ? `not within ${o.settleTimeoutMs / 1000} s (${o.waiting - remaining.length} were; measured anyway)` : `${(settledMs / 1000).toFixed(1)} s`}`,
        },
        {
          metric: 'coordinator cores at rest: none waiting / waiting',
          value: `${restNone.toFixed(3)} / ${restWaiting.toFixed(3)}`,
        },
      ],
      data: { options: o, none, waiting, growth, madeMs, settledMs, restNone, restWaiting, profile },
      problems,
    };
  } finally {
    await stack.run();
  }
}

function progress(line: string): void {
  process.stderr.write(`bench: growth: ${line}\n`);
}

function startLatency(b: Build__Output): number {
  return new Date(b.status!.startTimestamp!).getTime() - new Date(b.metadata!.creationTimestamp!).getTime();
}

/** Polls `check` every `everyMs` until it holds; fails naming `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(everyMs)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
  }
}
