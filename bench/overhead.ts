import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { addAgent, dockerBuildConfig } from '../test/helpers/slipway.js';
import { onSlipway } from './lib/environment.js';
import { ms, ratio, type BenchResult } from './lib/report.js';
import { median } from './lib/stats.js';

const BARE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bench/bare-build.sh');

/**
 * Slipway's overhead over bare Docker: the same git clone + docker build + push, by a shell
 * script (bench/bare-build.sh) and by Slipway (StartBuild → Complete, digest known, timed by
 * the client), alternating, `runs` times each. Warm: layer cache in place (one unmeasured run
 * first). Cold: no layer cache (--no-cache / strategy.docker.noCache), and a new layer to push.
 */
export async function overhead(o: { runs: number }): Promise<BenchResult> {
  return onSlipway(async ({ stack, env, git, sw }) => {
    await addAgent(stack, sw, { concurrency: 1 });
    const id = randomBytes(3).toString('hex');
    // Some real work: 4 MiB of new data in a layer when the cache does not hold it.
    const repo = await git.createRepo('overhead', {
      Dockerfile: `FROM ${env.baseImage}\nRUN head -c 4194304 /dev/urandom > /blob && echo built\n`,
    });
    const image = (who: string, cache: string) => `${env.registry}/bench/overhead-${who}-${cache}-${id}:latest`;
    await sw.client.createBuildConfig(dockerBuildConfig('warm', repo.uri, image('slipway', 'warm')));
    await sw.client.createBuildConfig(dockerBuildConfig('cold', repo.uri, image('slipway', 'cold'), { noCache: true }));
    const problems: string[] = [];

    const bare = async (cache: 'warm' | 'cold') => {
      const t0 = performance.now();
      await runScript(BARE, [
        env.dockerHost,
        repo.uri,
        image('bare', cache),
        ...(cache === 'cold' ? ['--no-cache'] : []),
      ]);
      return performance.now() - t0;
    };
    const phases = { warm: [] as [number, number][], cold: [] as [number, number][] };
    const slipway = async (cache: 'warm' | 'cold') => {
      const t0 = performance.now();
      const b = await sw.client.startBuild({ namespace: 'default', configName: cache });
      const final = await sw.client.waitForBuild('default', b.metadata!.name);
      const took = performance.now() - t0;
      const at = (s: string | undefined) => new Date(s ?? Number.NaN).getTime();
      phases[cache].push([
        at(final.status!.startTimestamp) - at(final.metadata!.creationTimestamp),
        at(final.status!.completionTimestamp) - at(final.status!.startTimestamp),
      ]);
      if (final.status!.phase !== 'Complete' || !final.status!.output?.digest)
        problems.push(`${b.metadata!.name}: ${final.status!.phase} ${final.status!.message}`);
      return took;
    };

    const times = {
      bare: { warm: [] as number[], cold: [] as number[] },
      slipway: { warm: [] as number[], cold: [] as number[] },
    };
    await bare('warm');
    await slipway('warm');
    for (const cache of ['warm', 'cold'] as const) {
      for (let i = 0; i < o.runs; i++) {
        times.bare[cache].push(await bare(cache));
        times.slipway[cache].push(await slipway(cache));
      }
    }
    const warm = median(times.slipway.warm) / median(times.bare.warm);
    const split = (cache: 'warm' | 'cold') =>
      `${ms(median(phases[cache].map((p) => p[0])))} / ${ms(median(phases[cache].map((p) => p[1])))}`;
    const cold = median(times.slipway.cold) / median(times.bare.cold);
    return {
      name: 'overhead vs bare Docker',
      rows: [
        {
          metric: `warm: median bare / Slipway (${o.runs} runs each)`,
          value: `${ms(median(times.bare.warm))} / ${ms(median(times.slipway.warm))}`,
        },
        { metric: 'warm: Slipway / bare', value: ratio(warm), target: '≤ 1.10', met: warm <= 1.1 },
        { metric: 'warm: Slipway created → Running / Running → Complete', value: split('warm') },
        {
          metric: 'cold: median bare / Slipway',
          value: `${ms(median(times.bare.cold))} / ${ms(median(times.slipway.cold))}`,
        },
        { metric: 'cold: Slipway / bare', value: ratio(cold) },
        { metric: 'cold: Slipway created → Running / Running → Complete', value: split('cold') },
      ],
      data: { times, phases, warmRatio: warm, coldRatio: cold },
      problems,
    };
  });
}

function runScript(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(script)} exited ${code}: ${err}`)),
    );
  });
}
