import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import { freePort } from './ports.js';
import { natsProcess, type NatsProcess } from './nats-server.js';
import { tempDir } from './processes.js';
import { eventually } from './eventually.js';

/** One server of a NatsCluster. */
export interface NatsClusterNode {
  /** Its `server_name` (`n1`, `n2`, …), as /jsz names leaders and peers. */
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** http://127.0.0.1:PORT of its monitoring endpoint (/jsz, /healthz, /connz). */
  readonly monitorUrl: string;
  /** Its JetStream file store; kept across restarts. */
  readonly storeDir: string;
  /** The process id (a new one after a restart; 0 before the first start). */
  readonly pid: number;
  readonly running: boolean;
  /** kill -9 (or `signal`), and wait for the exit. Nothing when it is not running. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** A clean shutdown (SIGTERM), and wait for the exit. */
  stop(): Promise<void>;
  /**
   * Kills it if it runs (SIGKILL), waits `downMs` (default 0), starts it again on the same ports
   * and store dir, and waits until it reports healthy (JetStream caught up: /healthz).
   */
  restart(options?: { downMs?: number }): Promise<void>;
}

export interface NatsCluster {
  /** The cluster's name (`cluster { name }`). */
  readonly name: string;
  readonly nodes: NatsClusterNode[];
  /** Every node's client URL, for SLIPWAY_NATS_URL (comma-joined) or nats.js `servers`. */
  readonly urls: string[];
  /** Resolves once every running node knows the same JetStream meta leader; rejects after `timeoutMs`. */
  waitForMetaLeader(timeoutMs?: number): Promise<NatsClusterNode>;
  /** The node leading `stream` (e.g. `KV_slipway_builds`), as the running nodes' /jsz tell; undefined when none does. */
  streamLeader(stream: string): Promise<NatsClusterNode | undefined>;
  /** The node a client connection named `connectionName` is connected to (from /connz), if any. */
  nodeOfConnection(connectionName: string): Promise<NatsClusterNode | undefined>;
}

/**
 * A node's /healthz, read for whether a restarted node has caught up: it passes; or, on
 * nats-server 2.9.x, five answers in a row blame only an idle job consumer. 2.9.10 reports a
 * consumer that has had no activity as "not current" after a restart (for the whole 60 s we
 * waited; each agent has a consumer of its own, and an agent with no job yet has an idle one).
 * Its healthz names the first asset that fails, going over streams (each followed by its
 * consumers) in Go's random map order, so five answers that name only job consumers would each
 * have had a chance to name a stream that is behind.
 */
async function health(monitorUrl: string): Promise<'ok' | 'idle-consumer' | 'behind'> {
  const res = await fetch(`${monitorUrl}/healthz`).catch(() => undefined);
  if (!res) return 'behind';
  if (res.ok) return 'ok';
  return /JetStream consumer '.*SLIPWAY_JOBS .*agent-[^']*' is not current/.test(await res.text())
    ? 'idle-consumer'
    : 'behind';
}

/**
 * A real NATS cluster for tests: `nodes` nats-server processes on free loopback ports, each with
 * JetStream on its own file store, routes to the others and one cluster name. Resolves once the
 * cluster has a JetStream meta leader, so R3 assets can be created at once. Every process is
 * killed when the test ends. Uses only settings nats-server 2.9 knows (and current ones too).
 */
export async function startNatsCluster(t: Teardowns, o: { nodes?: number; name?: string } = {}): Promise<NatsCluster> {
  const count = o.nodes ?? 3;
  const clusterName = o.name ?? 'slipway-test';
  const dir = await tempDir(t, 'slipway-nats-cluster-');
  const ports = await Promise.all(
    Array.from({ length: count }, async () => ({
      client: await freePort(),
      monitor: await freePort(),
      route: await freePort(),
    })),
  );
  const nodes: NatsClusterNode[] = [];
  const processes: NatsProcess[] = [];
  const configs: string[] = [];
  for (const [i, p] of ports.entries()) {
    const name = `n${i + 1}`;
    const nodeDir = path.join(dir, name);
    await mkdir(nodeDir, { recursive: true });
    const configFile = path.join(nodeDir, 'nats.conf');
    const storeDir = path.join(nodeDir, 'jetstream');
    await writeFile(
      configFile,
      clusterNodeConfig({
        name,
        clusterName,
        storeDir,
        ...p,
        routes: ports.filter((_, j) => j !== i).map((q) => q.route),
      }),
    );
    configs.push(configFile);
    const monitorUrl = `http://127.0.0.1:${p.monitor}`;
    const node: NatsClusterNode = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      port: p.client,
      monitorUrl,
      storeDir,
      get pid() {
        return processes[i]?.pid ?? 0;
      },
      get running() {
        return processes[i]?.running ?? false;
      },
      kill: (signal = 'SIGKILL') => processes[i]!.kill(signal),
      stop: () => processes[i]!.kill('SIGTERM'),
      async restart(r = {}) {
        await processes[i]!.kill('SIGKILL');
        if (r.downMs) await new Promise((res) => setTimeout(res, r.downMs));
        await processes[i]!.start();
        let idle = 0;
        await waitUntil(`${name} healthy`, 60_000, async () => {
          const h = await health(monitorUrl);
          idle = h === 'idle-consumer' ? idle + 1 : 0;
          return h === 'ok' || idle >= 5;
        });
      },
    };
    nodes.push(node);
  }
  // All at once: a node waits for its routes' peers before JetStream elects a meta leader.
  processes.push(...(await Promise.all(ports.map((p, i) => natsProcess(t, ['-c', configs[i]!], p.client)))));

  const jsz = async (node: NatsClusterNode, query = ''): Promise<Jsz | undefined> => {
    if (!node.running) return undefined;
    const res = await fetch(`${node.monitorUrl}/jsz${query}`).catch(() => undefined);
    return res?.ok ? ((await res.json()) as Jsz) : undefined;
  };
  const cluster: NatsCluster = {
    name: clusterName,
    nodes,
    urls: nodes.map((n) => n.url),
    async waitForMetaLeader(timeoutMs = 60_000) {
      let leader: NatsClusterNode | undefined;
      await waitUntil('a JetStream meta leader', timeoutMs, async () => {
        const seen = await Promise.all(
          nodes.filter((n) => n.running).map(async (n) => (await jsz(n))?.meta_cluster?.leader),
        );
        const name = seen[0];
        leader = nodes.find((n) => n.name === name);
        return leader !== undefined && seen.every((s) => s === name);
      });
      return leader!;
    },
    async streamLeader(stream) {
      for (const n of nodes) {
        const info = await jsz(n, '?streams=true');
        for (const account of info?.account_details ?? []) {
          const s = account.stream_detail?.find((d) => d.name === stream);
          if (s?.cluster?.leader) return nodes.find((x) => x.name === s.cluster!.leader);
        }
      }
      return undefined;
    },
    async nodeOfConnection(connectionName) {
      for (const n of nodes.filter((x) => x.running)) {
        const res = await fetch(`${n.monitorUrl}/connz?limit=1024`).catch(() => undefined);
        const connz = res?.ok ? ((await res.json()) as { connections?: { name?: string }[] }) : undefined;
        if (connz?.connections?.some((c) => c.name === connectionName)) return n;
      }
      return undefined;
    },
  };
  await cluster.waitForMetaLeader();
  return cluster;
}

/** The parts of /jsz read here. */
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
  account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
}

/**
 * One node's configuration file. `server_name` is what JetStream clustering requires; the rest
 * is the minimum for routes. No `sync_interval`: nats-server 2.9 does not know it (production
 * sets `sync_interval: always`, see ARCHITECTURE.md).
 */
export function clusterNodeConfig(o: {
  name: string;
  clusterName: string;
  storeDir: string;
  client: number;
  monitor: number;
  route: number;
  routes: number[];
}): string {
  return `server_name: ${o.name}
listen: 127.0.0.1:${o.client}
http: 127.0.0.1:${o.monitor}
jetstream {
  store_dir: "${o.storeDir}"
}
cluster {
  name: ${o.clusterName}
  listen: 127.0.0.1:${o.route}
  routes: [
${o.routes.map((r) => `    nats-route://127.0.0.1:${r}`).join('\n')}
  ]
}
`;
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  await eventually(what, check, { timeoutMs, intervalMs: 200 });
}
