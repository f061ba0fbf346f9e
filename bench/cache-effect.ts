import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { AgentConfig } from '../agent/config.js';
import { addAgent, dockerBuildConfig } from '../test/helpers/slipway.js';
import { onSlipway } from './lib/environment.js';
import { ms, ratio, type BenchResult } from './lib/report.js';
import { median } from './lib/stats.js';

/**
 * The layer cache's effect: a build of a context never built before, then the same context
 * again; second / first, `trials` times, on the node's daemon (host) and on a per-agent private
 * daemon started fresh for each trial (dind: its first build also pulls the base image).
 */
export async function cacheEffect(o: { trials: number }): Promise<BenchResult> {
  return onSlipway(async ({ stack, env, git, sw }) => {
    const problems: string[] = [];

    const pair = async (executor: string, trial: number): Promise<[number, number]> => {
      const word = `${executor}-${trial}-${randomBytes(4).toString('hex')}`;
      const repo = await git.createRepo(`cache-${word}`, {
        Dockerfile: `FROM ${env.baseImage}\nRUN echo ${word} && head -c 4194304 /dev/urandom > /blob\nRUN echo second step > /s\n`,
      });
      await sw.client.createBuildConfig(
        dockerBuildConfig(`cache-${word}`, repo.uri, `${env.registry}/bench/cache-${word}:latest`),
      );
      const once = async () => {
        const t0 = performance.now();
        const b = await sw.client.startBuild({ namespace: 'default', configName: `cache-${word}` });
        const final = await sw.client.waitForBuild('default', b.metadata!.name);
        if (final.status!.phase !== 'Complete')
          problems.push(`${b.metadata!.name}: ${final.status!.phase} ${final.status!.message}`);
        return performance.now() - t0;
      };
      return [await once(), await once()];
    };
    const run = async (executor: 'host' | 'dind', settings: () => Promise<Partial<AgentConfig>>) => {
      const pairs: [number, number][] = [];
      for (let i = 0; i < o.trials; i++) {
        const agent = await addAgent(stack, sw, { concurrency: 1, settings: await settings() });
        pairs.push(await pair(executor, i));
        await agent.stop();
      }
      return pairs;
    };
    const host = await run('host', async () => ({}));
    const dindWith = (dindUserns: 'remap' | 'off') =>
      run('dind', async () => {
        const dindRoot = `/tmp/sw-bench-${randomBytes(3).toString('hex')}`;
        stack.teardown(() => rm(dindRoot, { recursive: true, force: true }));
        return { executor: 'dind', dindMode: 'per-agent', dindRoot, dindUserns } as Partial<AgentConfig>;
      });
    // The default (builds in a user namespace), and without it (issue #23: the cache's effect kept).
    const dind = await dindWith('remap');
    const dindOff = await dindWith('off');
    const summary = (pairs: [number, number][]) => ({
      first: median(pairs.map((p) => p[0])),
      second: median(pairs.map((p) => p[1])),
      ratio: median(pairs.map((p) => p[1] / p[0])),
    });
    const h = summary(host);
    const d = summary(dind);
    const off = summary(dindOff);
    return {
      name: 'cache effect',
      rows: [
        { metric: `host: first / second build (median of ${o.trials})`, value: `${ms(h.first)} / ${ms(h.second)}` },
        { metric: 'host: second / first', value: ratio(h.ratio) },
        { metric: 'dind per-agent: first / second build', value: `${ms(d.first)} / ${ms(d.second)}` },
        { metric: 'dind per-agent: second / first', value: ratio(d.ratio) },
        { metric: 'dind per-agent, userns off: first / second build', value: `${ms(off.first)} / ${ms(off.second)}` },
        { metric: 'dind per-agent, userns off: second / first', value: ratio(off.ratio) },
      ],
      data: { host, dind, dindOff, summary: { host: h, dind: d, dindOff: off } },
      problems,
    };
  });
}
