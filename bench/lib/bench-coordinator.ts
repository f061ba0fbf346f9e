import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../test/helpers/ports.js';
import { startCoordinatorProcess, type ServiceProcess } from '../../test/helpers/service-processes.js';
import type { Teardowns } from '../../test/helpers/teardowns.js';
import { hotSpots, type HotSpot } from './cpu-profile.js';

/** A coordinator process as the dispatch benchmarks run it, and how to end it. */
export interface BenchCoordinator {
  process: ServiceProcess;
  /** Its gRPC address. */
  address: string;
  /** Stops it (SIGTERM) and returns its CPU profile's top self time, when it was profiled. */
  stop(): Promise<HotSpot[]>;
}

/**
 * One coordinator process on `natsUrl`, logging only warnings, with a lease grace long enough
 * for agents starved of CPU by the benchmark; profiled into `cpuProfileDir` when given (the
 * profile is written when it exits).
 */
export async function startBenchCoordinator(
  t: Teardowns,
  natsUrl: string,
  cpuProfileDir: string | undefined,
): Promise<BenchCoordinator> {
  const port = await freePort();
  const coordinator = await startCoordinatorProcess(t, {
    natsUrl,
    port,
    env: { SLIPWAY_LOG_LEVEL: 'warn', SLIPWAY_AGENT_GRACE_MS: '30000' },
    nodeArgs: cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [],
  });
  return {
    process: coordinator,
    address: `127.0.0.1:${port}`,
    async stop() {
      coordinator.signal('SIGTERM');
      await coordinator.exited();
      if (!cpuProfileDir) return [];
      const files = (await readdir(cpuProfileDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
      return files.length > 0 ? hotSpots(path.join(cpuProfileDir, files.at(-1)!)) : [];
    },
  };
}
