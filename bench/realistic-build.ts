import { randomBytes } from 'node:crypto';
import { addAgent, dockerBuildConfig } from '../test/helpers/slipway.js';
import { bareBuild, stepMedians, type BareTimes } from './lib/bare-build.js';
import { buildKitDockerCli } from './lib/docker-cli.js';
import { onSlipway } from './lib/environment.js';
import { startPrivateDaemon } from '../test/helpers/private-daemon.js';
import { ms, ratio, type BenchResult } from './lib/report.js';
import { buildLog, stageMedians, timedBuild, type TimedBuild } from './lib/slipway-build.js';
import { median, percentile } from './lib/stats.js';

/** Who builds: Slipway (on its Docker strategy's engine), or bare-build.sh on BuildKit or the legacy builder. */
type Side = 'slipway' | 'buildkit' | 'legacy';
const SIDES: readonly Side[] = ['buildkit', 'legacy', 'slipway'];

export interface RealisticBuildOptions {
  /** Measured rounds, after one unmeasured round that fills every cache. */
  rounds: number;
  /** Every `bumpEvery`-th round also adds a dependency to the lock file. */
  bumpEvery: number;
  /** Dependencies in the lock file at the start. */
  dependencies: number;
  /** Size of each dependency's "download", bytes. */
  dependencyBytes: number;
  /** How long each dependency's "download" waits, seconds. */
  downloadSeconds: number;
}

/**
 * A project's Dockerfile of today, built three ways as its source changes: a dependency stage
 * (`COPY deps.lock`, then a step that "downloads" each locked dependency missing from /cache,
 * `downloadSeconds` and `dependencyBytes` each, and installs them into /deps), a compile stage
 * (`COPY src/`, a sha256sum over dependencies and source) and a final stage holding only the
 * artifact. On BuildKit /cache is a cache mount (`RUN --mount=type=cache`); the legacy builder
 * refuses `--mount`, so its Dockerfile has the same step without it and removes /cache at the
 * end of the step, as a Dockerfile without a cache mount cleans the package cache out of its layer.
 *
 * Every round pushes a commit adding a source file; every `bumpEvery`-th also adds a dependency
 * to deps.lock. A source change invalidates only the compile and final stages (the dependency
 * step's layer is cached on both engines, as in a project that copies its lock file first);
 * a dependency added reruns the dependency step: on BuildKit it downloads only the new one (the
 * rest are in the cache mount), on the legacy builder all of them.
 *
 * Each side has a repository of its own (its lock file names it, its cache mount has its own id)
 * so no side's layers or cache serve another. Sides alternate, in an order rotated each round.
 * Slipway: StartBuild → Complete; bare: git clone + docker build + docker push.
 */
export async function realisticBuild(o: RealisticBuildOptions): Promise<BenchResult> {
  return onSlipway(async ({ stack, env, git, sw }) => {
    // A daemon of its own: other work on the node's daemon (an image GC test, a prune) would empty
    // the build cache and cache mounts mid-run, and the rounds would measure that.
    const { dockerHost } = await startPrivateDaemon(stack);
    await addAgent(stack, sw, { concurrency: 1, settings: { dockerHost } });
    const cli = await buildKitDockerCli(dockerHost, env.baseImage);
    const id = randomBytes(3).toString('hex');
    const problems: string[] = [];
    const repoName = (side: Side) => `realistic-${side}`;
    const image = (side: Side) => `${env.registry}/bench/realistic-${side}-${id}:latest`;
    let dependencies = o.dependencies;
    const lock = (side: Side) =>
      [`# ${side} ${id}`, ...Array.from({ length: dependencies }, (_, i) => `dep-${i + 1}`)].join('\n') + '\n';
    const source = (round: number) => ({
      [`src/change-${round}.txt`]: `round ${round}: ${randomBytes(16).toString('hex')}\n`,
    });

    const uris = {} as Record<Side, string>;
    for (const side of SIDES) {
      const repo = await git.createRepo(repoName(side), {
        Dockerfile: dockerfile(env.baseImage, side === 'legacy' ? undefined : `bench-deps-${side}-${id}`, o),
        'deps.lock': lock(side),
        ...source(0),
      });
      uris[side] = repo.uri;
    }
    await sw.client.createBuildConfig(dockerBuildConfig('realistic', uris.slipway, image('slipway')));

    const builds: TimedBuild[] = [];
    const bareRuns: Record<'buildkit' | 'legacy', BareTimes[]> = { buildkit: [], legacy: [] };
    /** How long the side's build took, and how many dependencies it downloaded (from its output). */
    const build = async (side: Side): Promise<[number, number]> => {
      if (side !== 'slipway') {
        const r = await bareBuild({
          dockerHost,
          cli,
          builder: side,
          uri: uris[side],
          image: image(side),
          keepOutput: true,
        });
        bareRuns[side].push(r);
        return [r.ms, downloadsIn(r.output!)];
      }
      const b = await timedBuild(sw, 'realistic');
      if (b.problem) throw new Error(b.problem);
      builds.push(b);
      return [b.ms, downloadsIn(await buildLog(sw, b.name))];
    };

    // Round 0, unmeasured: every cache filled. A side that cannot build is left out of the rounds.
    const sides: Side[] = [];
    for (const side of SIDES) {
      try {
        await build(side);
        sides.push(side);
      } catch (err) {
        problems.push(`realistic build, ${side}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    builds.length = 0;
    bareRuns.buildkit.length = 0;
    bareRuns.legacy.length = 0;

    const times: Record<Side, number[]> = { slipway: [], buildkit: [], legacy: [] };
    const downloads: Record<Side, number[]> = { slipway: [], buildkit: [], legacy: [] };
    const expected: Record<Side, number[]> = { slipway: [], buildkit: [], legacy: [] };
    const bumped: boolean[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      const bump = round % o.bumpEvery === 0;
      if (bump) dependencies++;
      bumped.push(bump);
      for (const side of sides)
        await git.pushCommit(repoName(side), { ...source(round), ...(bump ? { 'deps.lock': lock(side) } : {}) });
      const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
      for (const side of order) {
        // With its cache a BuildKit build downloads only the dependency added; the legacy builder all.
        expected[side].push(bump ? (side === 'legacy' ? dependencies : 1) : 0);
        try {
          const [took, downloaded] = await build(side);
          times[side].push(took);
          downloads[side].push(downloaded);
        } catch (err) {
          times[side].push(Number.NaN);
          downloads[side].push(Number.NaN);
          problems.push(`realistic build, ${side}, round ${round}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }

    const of = (side: Side, which: 'all' | 'source' | 'bump') =>
      times[side].filter((_, i) => which === 'all' || bumped[i] === (which === 'bump')).filter(Number.isFinite);
    const med = (side: Side, which: 'all' | 'source' | 'bump' = 'all') => median(of(side, which));
    const three = (which: 'all' | 'source' | 'bump') =>
      `${ms(med('buildkit', which))} / ${ms(med('legacy', which))} / ${ms(med('slipway', which))}`;
    const bumps = bumped.filter(Boolean).length;
    const list = (medians: Record<string, number>) =>
      Object.entries(medians)
        .map(([name, v]) => `${name} ${ms(v)}`)
        .join(', ');
    const bySide = (f: (side: Side) => string) => (['buildkit', 'legacy', 'slipway'] as const).map(f).join(' / ');
    const unexpected = (side: Side) => downloads[side].filter((d, i) => d !== expected[side][i]).length;
    const ratios = {
      buildkitOverLegacy: med('buildkit') / med('legacy'),
      buildkitOverLegacyBump: med('buildkit', 'bump') / med('legacy', 'bump'),
      buildkitOverLegacyTotal: sum(of('buildkit', 'all')) / sum(of('legacy', 'all')),
      slipwayOverBuildkit: med('slipway') / med('buildkit'),
    };
    const per = (side: Side, label: string) => ({
      metric: `${label}: median / p90 (${o.rounds} rounds)`,
      value: `${ms(med(side))} / ${ms(percentile(of(side, 'all'), 90))}`,
    });
    return {
      name: 'realistic build',
      rows: [
        per('buildkit', 'bare BuildKit'),
        per('legacy', 'bare legacy builder'),
        per('slipway', 'Slipway'),
        { metric: `source changed (${o.rounds - bumps}): median BuildKit / legacy / Slipway`, value: three('source') },
        { metric: `+ a dependency (${bumps}): median BuildKit / legacy / Slipway`, value: three('bump') },
        {
          metric: 'all rounds, total: BuildKit / legacy / Slipway',
          value: bySide((side) => (of(side, 'all').length ? `${(sum(of(side, 'all')) / 1000).toFixed(1)} s` : 'n/a')),
        },
        {
          metric: 'dependencies downloaded in all rounds: BuildKit / legacy / Slipway',
          value: bySide((side) => (sides.includes(side) ? String(sum(downloads[side])) : 'n/a')),
        },
        {
          metric: 'rounds downloading other than expected (a cache lost): BuildKit / legacy / Slipway',
          value: bySide((side) => (sides.includes(side) ? String(unexpected(side)) : 'n/a')),
        },
        { metric: 'bare BuildKit / legacy, median of all rounds', value: ratio(ratios.buildkitOverLegacy) },
        { metric: 'bare BuildKit / legacy, total of all rounds', value: ratio(ratios.buildkitOverLegacyTotal) },
        { metric: 'bare BuildKit / legacy, rounds adding a dependency', value: ratio(ratios.buildkitOverLegacyBump) },
        { metric: 'Slipway / bare BuildKit, median of all rounds', value: ratio(ratios.slipwayOverBuildkit) },
        { metric: 'Slipway stages (median)', value: list(stageMedians(builds)) },
        { metric: 'bare BuildKit steps (median)', value: list(stepMedians(bareRuns.buildkit)) },
        { metric: 'bare legacy builder steps (median)', value: list(stepMedians(bareRuns.legacy)) },
      ],
      data: { cli, options: o, times, downloads, expected, bumped, builds, bareRuns, ratios },
      problems,
    };
  });
}

/**
 * The project's Dockerfile. `cacheId`: the dependency step's cache mount's id (BuildKit); none:
 * the legacy builder's form, the same step without the mount, removing /cache when done.
 */
export function dockerfile(baseImage: string, cacheId: string | undefined, o: RealisticBuildOptions): string {
  const install =
    'mkdir -p /cache /deps && while read -r dep; do case "$dep" in ""|"#"*) continue ;; esac; ' +
    'if [ ! -f "/cache/$dep" ]; then echo "downloading $dep"; ' +
    `head -c ${o.dependencyBytes} /dev/urandom > "/cache/$dep.part" && sleep ${o.downloadSeconds} && ` +
    'mv "/cache/$dep.part" "/cache/$dep"; fi; cp "/cache/$dep" "/deps/$dep"; done < /deps.lock';
  const step = cacheId
    ? `RUN --mount=type=cache,id=${cacheId},target=/cache ${install}`
    : `RUN ${install} && rm -rf /cache`;
  return [
    `FROM ${baseImage} AS deps`,
    'COPY deps.lock /deps.lock',
    step,
    '',
    `FROM ${baseImage} AS build`,
    'COPY --from=deps /deps /deps',
    'COPY src/ /src/',
    'RUN cat /deps/* /src/* | sha256sum > /artifact && ls /src | wc -l >> /artifact',
    '',
    `FROM ${baseImage}`,
    'COPY --from=build /artifact /app/artifact',
    '',
  ].join('\n');
}

/** How many dependencies a build's output says it downloaded (the step's echo, not its command line). */
function downloadsIn(output: string): number {
  return output.match(/downloading dep-\d+/g)?.length ?? 0;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
