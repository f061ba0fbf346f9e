import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { PrivateDaemon } from '../agent/executors/private-daemon.js';
import type { DindUserns } from '../agent/executors/userns-remap.js';
import { silentLogger } from '../common/log.js';
import { addAgent, dockerBuildConfig } from '../test/helpers/slipway.js';
import { onSlipway } from './lib/environment.js';
import { ms, ratio, type BenchResult } from './lib/report.js';
import { timedBuild } from './lib/slipway-build.js';
import { median, percentile } from './lib/stats.js';

type Cache = 'warm' | 'cold';
const MODES: DindUserns[] = ['off', 'remap', 'rootless'];
const LABEL: Record<DindUserns, string> = { off: 'rootful', remap: 'remap', rootless: 'rootless' };

/**
 * What a rootless private daemon costs (issue #23): one Dockerfile build (4 MiB of new data and
 * 2,000 small files in two RUN steps, pushed) on the dind executor's per-agent daemon, rootful
 * (SLIPWAY_DIND_USERNS=off), remapped (remap) and rootless: three agents, one per mode, each
 * builds once unmeasured (pulls the base image, fills the cache); then `runs` times a cold build
 * (strategy.docker.noCache: every layer made and pushed anew) on each mode in turn, then a warm
 * one (every step cached) on each, the order of the modes rotating. Builds of the three modes
 * run back to back, so the ratios are paired (median of mode / rootful over the runs) and the
 * machine's load drifts over all three alike. Also each daemon's start, `starts` times per
 * mode, and the storage driver each picked. Prints medians, p90 and ratios to rootful.
 */
export async function rootlessCost(o: { runs: number; starts: number }): Promise<BenchResult> {
  return onSlipway(async ({ stack, env, git, sw }) => {
    const problems: string[] = [];
    const id = randomBytes(3).toString('hex');
    const repo = await git.createRepo('rootless-cost', {
      Dockerfile: [
        `FROM ${env.baseImage}`,
        'RUN head -c 4194304 /dev/urandom > /blob && echo built',
        'RUN mkdir /many && i=0 && while [ $i -lt 2000 ]; do echo $i > /many/$i; i=$((i+1)); done',
        '',
      ].join('\n'),
    });
    const roots: Partial<Record<DindUserns, string>> = {};
    for (const mode of MODES) {
      const dindRoot = `/tmp/sw-bench-${randomBytes(3).toString('hex')}`;
      stack.teardown(() => rm(dindRoot, { recursive: true, force: true }));
      roots[mode] = dindRoot;
      await addAgent(stack, sw, {
        concurrency: 1,
        settings: {
          executor: 'dind',
          dindMode: 'per-agent',
          dindRoot,
          dindUserns: mode,
          nodeLabels: { 'bench.slipway.dev/daemon': mode },
        },
      });
      for (const cache of ['warm', 'cold'] as const) {
        const config = dockerBuildConfig(
          `${mode}-${cache}`,
          repo.uri,
          `${env.registry}/bench/rootless-${mode}-${cache}-${id}:latest`,
          { noCache: cache === 'cold' },
        );
        config.spec!.nodeSelector = { 'bench.slipway.dev/daemon': mode };
        await sw.client.createBuildConfig(config);
      }
    }

    const times = Object.fromEntries(MODES.map((m) => [m, { warm: [] as number[], cold: [] as number[] }])) as Record<
      DindUserns,
      Record<Cache, number[]>
    >;
    const timed = async (config: string) => {
      const b = await timedBuild(sw, config);
      if (b.problem) problems.push(b.problem);
      return b.ms;
    };
    const drivers: Partial<Record<DindUserns, string>> = {};
    for (const mode of MODES) {
      await timed(`${mode}-warm`);
      drivers[mode] = await storageDriver(roots[mode]!);
    }
    for (let i = 0; i < o.runs; i++)
      for (const cache of ['cold', 'warm'] as const)
        for (const k of MODES.keys()) {
          const mode = MODES[(i + k) % MODES.length]!;
          times[mode][cache].push(await timed(`${mode}-${cache}`));
        }

    const starts = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<DindUserns, number[]>;
    const parent = `/tmp/sw-bench-${randomBytes(3).toString('hex')}`;
    await mkdir(parent);
    await chmod(parent, 0o711);
    stack.teardown(() => rm(parent, { recursive: true, force: true }));
    for (let i = 0; i < o.starts; i++)
      for (const mode of MODES) {
        const t0 = performance.now();
        const daemon = await PrivateDaemon.start({
          dockerd: 'dockerd',
          rootParent: parent,
          registryMirrors: [],
          startTimeoutMs: 60_000,
          userns: mode,
          rootlessUser: 'slipway-rootless',
          log: silentLogger,
        });
        starts[mode].push(performance.now() - t0);
        await daemon.stop();
      }

    const paired = (mode: DindUserns, cache: Cache) =>
      median(times[mode][cache].map((v, i) => v / times.off[cache][i]!));
    const rows = MODES.flatMap((mode) => [
      ...(['cold', 'warm'] as const).map((cache) => ({
        metric: `${LABEL[mode]}: ${cache} build median / p90 (${times[mode][cache].length} builds)`,
        value: `${ms(median(times[mode][cache]))} / ${ms(percentile(times[mode][cache], 90))}`,
      })),
      ...(mode === 'off'
        ? []
        : (['cold', 'warm'] as const).map((cache) => ({
            metric: `${LABEL[mode]} / rootful: ${cache} build (median of paired ratios)`,
            value: ratio(paired(mode, cache)),
          }))),
      {
        metric: `${LABEL[mode]}: daemon start median / p90 (${o.starts})`,
        value: `${ms(median(starts[mode]))} / ${ms(percentile(starts[mode], 90))}`,
      },
      { metric: `${LABEL[mode]}: storage driver`, value: drivers[mode] ?? 'n/a' },
    ]);
    return { name: 'rootless daemon cost', rows, data: { times, starts, drivers }, problems };
  });
}

/** The storage driver of the one daemon under `dindRoot` ("overlay2, native diff false"). */
async function storageDriver(dindRoot: string): Promise<string> {
  const [folder] = (await readdir(dindRoot)).filter((e) => e.startsWith('sw-'));
  if (!folder) return 'n/a';
  const info = (await new Docker({ socketPath: path.join(dindRoot, folder, 'docker.sock') }).info()) as {
    Driver?: string;
    DriverStatus?: [string, string][];
  };
  const native = info.DriverStatus?.find(([k]) => k === 'Native Overlay Diff')?.[1];
  return `${info.Driver ?? '?'}${native ? `, native diff ${native}` : ''}`;
}
