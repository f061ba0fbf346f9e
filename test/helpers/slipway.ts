import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import Docker from 'dockerode';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import { Agent } from '../../agent/agent.js';
import { resolveAgentConfig, type AgentConfig } from '../../agent/config.js';
import type { Executor } from '../../agent/executors/executor.js';
import type { BuildCacheGuard } from '../../agent/gc/build-cache-guard.js';
import { SlipwayClient } from '../../cli/client.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { resolveCoordinatorConfig, type CoordinatorConfig } from '../../coordinator/config.js';
import { Coordinator, type CoordinatorDeps } from '../../coordinator/coordinator.js';
import type { BuildConfig } from '../../proto/generated/slipway/v1/BuildConfig.js';
import { environmentDocker } from './docker.js';
import { testEnvironment } from './environment.js';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { tempDir } from './processes.js';

export interface Slipway {
  nats: NatsServer;
  /** Where each in-process agent makes its build folders, by agent index. */
  workDirs: string[];
  natsUrl: string;
  coordinators: Coordinator[];
  agents: Agent[];
  /** A client of the first coordinator. */
  client: SlipwayClient;
  /** A client of the n-th coordinator. */
  clientOf(n: number): SlipwayClient;
}

/**
 * Coordinators and agents on a NATS server of the test's own, building on the environment's
 * Docker daemon. Everything is stopped when the test ends.
 */
export async function startSlipway(
  t: Teardowns,
  o: {
    coordinators?: number;
    agents?: number;
    concurrency?: number;
    coordinator?: Partial<CoordinatorConfig>;
    kubeApi?: CoordinatorDeps['kubeApi'];
    /** The coordinators' logger (silent unless told). */
    coordinatorLog?: Logger;
  } = {},
): Promise<Slipway> {
  const nats = await startNatsServer(t);
  const coordinators: Coordinator[] = [];
  for (let i = 0; i < (o.coordinators ?? 1); i++) {
    const c = await Coordinator.start(
      resolveCoordinatorConfig({
        ...testCoordinatorSettings(),
        ...o.coordinator,
        natsServers: [nats.url],
        grpcListen: '127.0.0.1:0',
        id: `coordinator-${i}`,
      }),
      { log: o.coordinatorLog?.child({ coordinator: `coordinator-${i}` }) ?? silentLogger, kubeApi: o.kubeApi },
    );
    t.teardown(() => withinTime(`coordinator-${i}'s stop`, c.stop(1000), 60_000));
    coordinators.push(c);
  }
  const agents: Agent[] = [];
  const slipway: Slipway = {
    nats,
    workDirs: [],
    natsUrl: nats.url,
    coordinators,
    agents,
    client: undefined!,
    clientOf: undefined!,
  };
  for (let i = 0; i < (o.agents ?? 1); i++) await addAgent(t, slipway, { concurrency: o.concurrency });
  const clients = coordinators.map((c) => new SlipwayClient(c.address));
  t.teardown(() => clients.forEach((c) => c.close()));
  slipway.client = clients[0]!;
  slipway.clientOf = (n) => clients[n]!;
  return slipway;
}

/** Starts one more in-process agent, building on the environment's daemon; stopped when the test ends. */
export async function addAgent(
  t: Teardowns,
  slipway: Slipway,
  o: { concurrency?: number; settings?: Partial<AgentConfig>; executor?: Executor; buildCache?: BuildCacheGuard } = {},
): Promise<Agent> {
  const i = slipway.agents.length;
  const work = await tempDir(t, 'slipway-agent-');
  // SLIPWAY_TEST_EXECUTOR=dind (or dind-per-build): agents a test does not give an executor run
  // their builds on a private daemon of their own (one per agent, kept, as the node's daemon is;
  // or one per build) in a user namespace (the dind default), to run a suite there (issue #23:
  // `npm run test:dind`).
  const mode = process.env.SLIPWAY_TEST_EXECUTOR;
  const dind = (mode === 'dind' || mode === 'dind-per-build') && !o.settings?.executor && !o.executor;
  const dindSettings = dind
    ? {
        executor: 'dind' as const,
        dindMode: mode === 'dind' ? ('per-agent' as const) : ('per-build' as const),
        dindRoot: await tempDir(t, 'slipway-dind-'),
      }
    : {};
  const a = await Agent.start(
    resolveAgentConfig({
      natsServers: [slipway.natsUrl],
      // Agents spread over the coordinators, as they would behind a Service.
      coordinators: [slipway.coordinators[i % slipway.coordinators.length]!.agentAddress],
      dockerHost: testEnvironment().dockerHost,
      name: `agent-${i}-${path.basename(work)}`,
      node: `node-${i}`,
      concurrency: o.concurrency ?? 2,
      workDir: work,
      pullExpiresMs: 1000,
      heartbeatIntervalMs: 500,
      drainTimeoutMs: 0,
      // Image GC off unless a test turns it on: it would remove other tests' images.
      gcIntervalMs: 0,
      ...dindSettings,
      ...o.settings,
    }),
    { log: silentLogger, executor: o.executor, buildCache: o.buildCache },
  );
  t.teardown(() => a.stop());
  slipway.agents.push(a);
  slipway.workDirs.push(work);
  return a;
}

/** One key for every coordinator of a test run, so they can read each other's secrets. */
export const TEST_SECRET_KEY = randomBytes(32);

/**
 * Coordinator settings that make tests quick: short leases, frequent checks. Image polling is
 * off (its status writes would move configs' resource versions under tests that do not expect
 * them); the trigger tests turn it on.
 */
export function testCoordinatorSettings() {
  return {
    resyncIntervalMs: 2000,
    agentGraceMs: 3000,
    leaseCheckIntervalMs: 500,
    secretKey: TEST_SECRET_KEY,
    imagePollIntervalMs: 0,
  };
}

/** A BuildConfig message building `uri` into `image`. */
export function dockerBuildConfig(
  name: string,
  uri: string,
  image: string,
  extra: { ref?: string; noCache?: boolean; buildArgs?: { name: string; value: string }[] } = {},
): BuildConfig {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      source: { git: { uri, ref: extra.ref ?? 'main' } },
      strategy: { docker: { noCache: extra.noCache ?? false, buildArgs: extra.buildArgs ?? [] } },
      output: { image },
    },
  };
}

/**
 * `work`, failing with a message naming `what` when it has not ended within `ms`: a teardown
 * that hangs fails its test, saying where, rather than stalling the run until ava's timeout.
 */
async function withinTime<T>(what: string, work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The Docker daemon `agent`'s builds run on: the environment's for the host executor, else its
 * per-agent private daemon (the one daemon folder under its dind root with a socket).
 */
export async function agentDaemon(agent: Agent): Promise<Docker> {
  if (agent.config.executor !== 'dind') return environmentDocker();
  const sockets = (await readdir(agent.config.dindRoot))
    .map((d) => path.join(agent.config.dindRoot, d, 'docker.sock'))
    .filter((s) => existsSync(s));
  if (sockets.length !== 1)
    throw new Error(`agent ${agent.config.name} has ${sockets.length} private daemons, not one`);
  return new Docker({ socketPath: sockets[0] });
}
