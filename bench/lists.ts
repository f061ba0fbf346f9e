import { connect } from '@nats-io/transport-node';
import type { Build } from '../api/types.js';
import { SlipwayClient } from '../cli/client.js';
import { defaultStateStoreOptions, openStateStore } from '../coordinator/store/state-store.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { freePort } from '../test/helpers/ports.js';
import { startCoordinatorProcess } from '../test/helpers/service-processes.js';
import { TeardownStack, type Teardowns } from '../test/helpers/teardowns.js';
import { memoryOf, mib as mibWhole, resetPeakMemory } from './lib/proc.js';
import { ms, type BenchResult, type Row } from './lib/report.js';
import { summarize } from './lib/stats.js';

/** MiB with one decimal: a listing's few MiB matter here. */
const mib = (bytes: number) => mibWhole(bytes, 1);

export interface ListsOptions {
  /** Builds written into the store (Complete, as a finished build looks) before the listings. */
  builds: number;
  /** They belong to this many configs. */
  configs: number;
  /** Items a page asks for: ListBuilds' page_size, the Kubernetes API's limit. */
  pageSize: number;
  /**
   * After the listings on a coordinator as it starts by default, the same listings on a second
   * one started with SLIPWAY_HEAP_GROWING_PERCENT at each of these (docs/settings.md).
   */
  heapGrowingPercents: number[];
}

const TARGET_BYTES = 20 * 2 ** 20;

/**
 * Lists that page: `builds` finished builds written straight into the Build bucket (the
 * coordinator's watch sees them; nothing runs), then listed whole through ListBuilds pages,
 * the Kubernetes API with limit (JSON and Table) and, for comparison, the Kubernetes API
 * without limit (one answer). For each: the coordinator's peak RSS above its RSS before the
 * listing (VmHWM reset through /proc/PID/clear_refs), and per-page latency. Every listing must
 * hold every build once.
 */
export async function listsBench(o: ListsOptions): Promise<BenchResult> {
  const stack = new TeardownStack();
  try {
    const nats = await startNatsServer(stack);
    const nc = await connect({ servers: nats.url });
    stack.teardown(() => nc.close());
    // The buckets as a coordinator makes them (none has started yet).
    const { builds } = await openStateStore(nc, defaultStateStoreOptions());
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = next++; i < o.builds; i = next++) {
          const b = finishedBuild(`cfg-${i % o.configs}`, Math.floor(i / o.configs) + 1);
          await builds.create(`default.${b.metadata.name}`, b);
        }
      }),
    );
    const rows: Row[] = [];
    const problems: string[] = [];
    const data: Record<string, unknown> = { options: o };
    for (const percent of [0, ...o.heapGrowingPercents]) {
      const label = percent === 0 ? '' : `SLIPWAY_HEAP_GROWING_PERCENT=${percent}: `;
      const coordinatorStack = new TeardownStack();
      try {
        await listOn(coordinatorStack, percent, label);
      } finally {
        await coordinatorStack.run();
      }
    }
    rows.push({
      metric: 'builds missing or listed twice',
      value: problems.length === 0 ? '0' : problems.join('; '),
      target: '0',
      met: problems.length === 0,
    });
    return { name: 'lists', rows, data, problems };

    /** Every listing, on a coordinator of its own started with the heap setting `percent` (0: V8's own). */
    async function listOn(t: Teardowns, percent: number, label: string): Promise<void> {
      const port = await freePort();
      const kubePort = await freePort();
      const coordinator = await startCoordinatorProcess(t, {
        natsUrl: nats.url,
        port,
        env: {
          SLIPWAY_LOG_LEVEL: 'warn',
          SLIPWAY_KUBE_API_LISTEN: `127.0.0.1:${kubePort}`,
          SLIPWAY_HEAP_GROWING_PERCENT: String(percent),
        },
      });
      const client = new SlipwayClient(`127.0.0.1:${port}`, 120_000);
      t.teardown(() => client.close());
      // Each coordinator starts on the written builds: its watch takes them all in, its heap settles.
      await new Promise((r) => setTimeout(r, 5000));
      const idle = await memoryOf(coordinator.pid);

      const kubeBase = `http://127.0.0.1:${kubePort}/apis/build.slipway.dev/v1/namespaces/default/builds`;
      const kubePages = (accept?: string) => async (token: string) => {
        const query = new URLSearchParams({ limit: String(o.pageSize), ...(token ? { continue: token } : {}) });
        const res = await fetch(`${kubeBase}?${query}`, accept ? { headers: { Accept: accept } } : {});
        if (res.status !== 200) throw new Error(`the Kubernetes API answered ${res.status}: ${await res.text()}`);
        const body = (await res.json()) as {
          metadata: { continue?: string };
          items?: { metadata: { name: string } }[];
          rows?: { object: { metadata: { name: string } } }[];
        };
        const names = body.items?.map((i) => i.metadata.name) ?? body.rows!.map((r) => r.object.metadata.name);
        return { names, next: body.metadata.continue ?? '' };
      };
      const grpcPages = async (token: string) => {
        const page = await client.listBuildsPage({ namespace: 'default', pageSize: o.pageSize, pageToken: token });
        return { names: page.items.map((b) => b.metadata!.name!), next: page.nextPageToken };
      };
      const listings: [string, (token: string) => Promise<{ names: string[]; next: string }>][] = [
        [`ListBuilds, page_size ${o.pageSize}`, grpcPages],
        [`ListBuilds again`, grpcPages],
        [`Kubernetes API, limit ${o.pageSize}`, kubePages()],
        [`Kubernetes API Table, limit ${o.pageSize}`, kubePages('application/json;as=Table;v=v1;g=meta.k8s.io')],
        [
          'Kubernetes API, no limit (one answer)',
          async () => {
            const res = await fetch(kubeBase);
            const body = (await res.json()) as { items: { metadata: { name: string } }[] };
            return { names: body.items.map((i) => i.metadata.name), next: '' };
          },
        ],
      ];

      rows.push({
        metric: `${label}builds listed; coordinator RSS before the listings`,
        value: `${o.builds}; ${mib(idle.now)}`,
      });
      data[`${label}idle`] = idle;
      for (const [name, page] of listings) {
        await resetPeakMemory(coordinator.pid);
        const before = await memoryOf(coordinator.pid);
        const seen = new Set<string>();
        const pageMs: number[] = [];
        let duplicates = 0;
        let token = '';
        const t0 = performance.now();
        do {
          const p0 = performance.now();
          const { names, next } = await page(token);
          pageMs.push(performance.now() - p0);
          for (const n of names) {
            if (seen.has(n)) duplicates++;
            seen.add(n);
          }
          token = next;
        } while (token);
        const totalMs = performance.now() - t0;
        const after = await memoryOf(coordinator.pid);
        const added = after.peak - before.now;
        if (seen.size !== o.builds || duplicates > 0)
          problems.push(`${label}${name}: listed ${seen.size} of ${o.builds} builds, ${duplicates} twice`);
        const latency = summarize(pageMs);
        const paged = pageMs.length > 1;
        rows.push({
          metric: `${label}${name}: coordinator peak RSS added`,
          value: mib(added),
          ...(paged ? { target: '≤ 20 MiB', met: added <= TARGET_BYTES } : {}),
        });
        rows.push({
          metric: `${label}${name}: ${pageMs.length} page${paged ? 's' : ''}, p50 / p99 a page; whole listing`,
          value: `${ms(latency.p50)} / ${ms(latency.p99)}; ${ms(totalMs)}`,
        });
        data[`${label}${name}`] = { before, after, added, pages: pageMs.length, pageLatency: latency, totalMs };
      }
    }
  } finally {
    await stack.run();
  }
}

/** A Complete build of `config` as the no-op executor leaves one: stages, events, output (about 2 KB). */
export function finishedBuild(config: string, n: number): Build {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  return {
    metadata: {
      name: `${config}-${n}`,
      namespace: 'default',
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      creationTimestamp: at(0),
      generation: 1,
      labels: { 'slipway.dev/buildconfig': config },
    },
    spec: {
      configName: config,
      configGeneration: 1,
      config: {
        source: { git: { uri: `https://git.example.com/team/${config}.git`, ref: 'main' }, contextDir: 'app' },
        strategy: { docker: { buildArgs: [{ name: 'VERSION', value: String(n) }] } },
        output: { image: `registry.example.com/team/${config}:latest` },
      },
      triggeredBy: [{ type: 'Manual', message: 'started by a client' }],
    },
    status: {
      phase: 'Complete',
      attempt: 1,
      agent: 'agent-0',
      node: 'node-0',
      claimId: `agent-0/1/${n}`,
      queuedTimestamp: at(0),
      startTimestamp: at(1),
      completionTimestamp: at(9),
      exitCode: 0,
      output: { image: `registry.example.com/team/${config}:latest`, digest: `sha256:${'ab'.repeat(32)}` },
      commit: 'cd'.repeat(20),
      logLines: 120,
      stages: [
        { name: 'FetchInputs', startTimestamp: at(1), durationMs: 800 },
        { name: 'PullImages', startTimestamp: at(2), durationMs: 1200 },
        { name: 'Build', startTimestamp: at(3), durationMs: 4100 },
        { name: 'PushImage', startTimestamp: at(7), durationMs: 1900 },
      ],
      events: [
        { type: 'Normal', reason: 'Scheduled', message: 'placed on agent-0 (node-0)', timestamp: at(0) },
        { type: 'Normal', reason: 'Started', message: 'attempt 1 started on agent-0', timestamp: at(1) },
        {
          type: 'Normal',
          reason: 'Pushed',
          message: `pushed registry.example.com/team/${config}:latest`,
          timestamp: at(9),
        },
        { type: 'Normal', reason: 'Complete', message: 'the build completed', timestamp: at(9) },
      ],
    },
  };
}
