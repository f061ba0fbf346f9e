import { randomBytes } from 'node:crypto';
import { addAgent, dockerBuildConfig } from '../test/helpers/slipway.js';
import { bareBuild, stepMedians, type BareTimes, type Builder } from './lib/bare-build.js';
import { buildKitDockerCli } from './lib/docker-cli.js';
import { onSlipway } from './lib/environment.js';
import { startPrivateDaemon } from '../test/helpers/private-daemon.js';
import { ms, ratio, type BenchResult } from './lib/report.js';
import { stageMedians, timedBuild, type TimedBuild } from './lib/slipway-build.js';
import { median, percentile } from './lib/stats.js';

type Cache = 'warm' | 'cold';

/**
 * Slipway's overhead over bare Docker: the same git clone + docker build + push, by a shell
 * script (bench/bare-build.sh) on BuildKit (DOCKER_BUILDKIT=1) and on the legacy builder
 * (DOCKER_BUILDKIT=0), and by Slipway (StartBuild → Complete, digest known, timed by the client),
 * alternating, `runs` times each, all on a dockerd of the benchmark's own. Warm: layer cache in place (one unmeasured run of each first).
 * Cold: no layer cache (--no-cache / strategy.docker.noCache), and a new layer to push. The
 * target compares Slipway with bare BuildKit; the legacy rows are for reference.
 */
export async function overhead(o: { runs: number }): Promise<BenchResult> {
  return onSlipway(async ({ stack, env, git, sw }) => {
    // A daemon of its own, so that other work's GC on the shared one cannot empty the warm cache.
    const { dockerHost } = await startPrivateDaemon(stack);
    await addAgent(stack, sw, { concurrency: 1, settings: { dockerHost } });
    const cli = await buildKitDockerCli(dockerHost, env.baseImage);
    const id = randomBytes(3).toString('hex');
    // Some real work: 4 MiB of new data in a layer when the cache does not hold it.
    const repo = await git.createRepo('overhead', {
      Dockerfile: `FROM ${env.baseImage}\nRUN head -c 4194304 /dev/urandom > /blob && echo built\n`,
    });
    const image = (who: string, cache: Cache) => `${env.registry}/bench/overhead-${who}-${cache}-${id}:latest`;
    await sw.client.createBuildConfig(dockerBuildConfig('warm', repo.uri, image('slipway', 'warm')));
    await sw.client.createBuildConfig(dockerBuildConfig('cold', repo.uri, image('slipway', 'cold'), { noCache: true }));
    const problems: string[] = [];

    const bareRuns = { warm: [] as BareTimes[], cold: [] as BareTimes[] };
    const bare = async (builder: Builder, cache: Cache) => {
      const r = await bareBuild({
        dockerHost,
        cli,
        builder,
        uri: repo.uri,
        image: image(`bare-${builder}`, cache),
        options: cache === 'cold' ? ['--no-cache'] : [],
      });
      if (builder === 'buildkit') bareRuns[cache].push(r);
      return r.ms;
    };
    const builds = { warm: [] as TimedBuild[], cold: [] as TimedBuild[] };
    const slipway = async (cache: Cache) => {
      const b = await timedBuild(sw, cache);
      if (b.problem) problems.push(b.problem);
      builds[cache].push(b);
      return b.ms;
    };

    const times = {
      buildkit: { warm: [] as number[], cold: [] as number[] },
      legacy: { warm: [] as number[], cold: [] as number[] },
      slipway: { warm: [] as number[], cold: [] as number[] },
    };
    await bare('buildkit', 'warm');
    await bare('legacy', 'warm');
    await slipway('warm');
    builds.warm.length = 0;
    bareRuns.warm.length = 0;
    for (const cache of ['warm', 'cold'] as const) {
      for (let i = 0; i < o.runs; i++) {
        times.buildkit[cache].push(await bare('buildkit', cache));
        times.legacy[cache].push(await bare('legacy', cache));
        times.slipway[cache].push(await slipway(cache));
      }
    }
    const m = (side: keyof typeof times, cache: Cache) => median(times[side][cache]);
    const p90 = (side: keyof typeof times, cache: Cache) => percentile(times[side][cache], 90);
    const ratios = {
      warm: m('slipway', 'warm') / m('buildkit', 'warm'),
      cold: m('slipway', 'cold') / m('buildkit', 'cold'),
      warmLegacy: m('buildkit', 'warm') / m('legacy', 'warm'),
      coldLegacy: m('buildkit', 'cold') / m('legacy', 'cold'),
    };
    const split = (cache: Cache) =>
      `${ms(median(builds[cache].map((b) => b.toRunning)))} / ${ms(median(builds[cache].map((b) => b.running)))}`;
    const list = (medians: Record<string, number>) =>
      Object.entries(medians)
        .map(([name, v]) => `${name} ${ms(v)}`)
        .join(', ');
    const rows = (cache: Cache) => [
      {
        metric: `${cache}: median bare BuildKit / Slipway${cache === 'warm' ? ` (${o.runs} runs each)` : ''}`,
        value: `${ms(m('buildkit', cache))} / ${ms(m('slipway', cache))}`,
      },
      {
        metric: `${cache}: p90 bare BuildKit / Slipway`,
        value: `${ms(p90('buildkit', cache))} / ${ms(p90('slipway', cache))}`,
      },
      {
        metric: `${cache}: Slipway / bare BuildKit`,
        value: ratio(ratios[cache]),
        ...(cache === 'warm' ? { target: '≤ 1.10', met: ratios.warm <= 1.1 } : {}),
      },
      { metric: `${cache}: Slipway created → Running / Running → Complete`, value: split(cache) },
      { metric: `${cache}: Slipway stages (median)`, value: list(stageMedians(builds[cache])) },
      { metric: `${cache}: bare BuildKit steps (median)`, value: list(stepMedians(bareRuns[cache])) },
      {
        metric: `${cache}: median bare legacy builder; bare BuildKit / legacy`,
        value: `${ms(m('legacy', cache))}; ${ratio(cache === 'warm' ? ratios.warmLegacy : ratios.coldLegacy)}`,
      },
    ];
    return {
      name: 'overhead vs bare Docker',
      rows: [...rows('warm'), ...rows('cold')],
      data: { cli, times, builds, bareRuns, ratios },
      problems,
    };
  });
}
