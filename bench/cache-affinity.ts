import { LABELS } from '../agent/build-runner.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { recordDaemonEvents, type DaemonEvent } from '../test/helpers/docker.js';
import { startPrivateDaemon } from '../test/helpers/private-daemon.js';
import { startRunCounter } from '../test/helpers/run-counter.js';
import { addAgent, dockerBuildConfig } from '../test/helpers/slipway.js';
import { onSlipway } from './lib/environment.js';
import { ms, ratio, type BenchResult } from './lib/report.js';
import { median, percentile } from './lib/stats.js';
import { mulberry32 } from '../test/helpers/chaos/prng.js';

/**
 * Issue #12, must-show 2: placement's cache affinity on a rebuild. Config X is rebuilt
 * `rebuilds` times, one source file changed each time, on `agents` agents, each on a private
 * Docker daemon of its own standing in for a node; the scenario runs twice on a fresh Slipway
 * and fresh daemons, coordinator `placementAffinity` on, then off. Median created → Complete of
 * X's rebuilds, with / without.
 *
 * Why it can matter at all: a daemon that keeps every config's layers makes X cold only on each
 * agent's first visit, with or without affinity. Real nodes have bounded disk, so each agent's
 * image GC (after every build) is sized to hold about one config's layers, and X's rebuilds are
 * interleaved with builds of two other configs, Y and Z (other teams' work on the same nodes),
 * each with an expensive early layer of its own. The interleaving is a seeded random 1 to 3
 * other builds between X's rebuilds, the same for both runs: a fixed period of 3 builds on 3
 * agents would bring X back to the same agent by round-robin alone. One build at a time, so
 * every agent has room whenever a build is queued (the affinity grace never comes into it).
 *
 * Exactly once: each build must end Complete and its attempt's image must be tagged exactly
 * once over all the daemons (image tag events carrying the build's Slipway labels); whether a
 * build ran the expensive step is read from a run counter the step reports to as it runs (a
 * BuildKit step is no container the daemon would report; a step served from the layer cache
 * does not run, so reports nothing).
 */
export async function cacheAffinity(o: {
  rebuilds: number;
  agents: number;
  blobBytes: number;
  seed: number;
}): Promise<BenchResult> {
  const sequence = interleaving(o.rebuilds, o.seed);
  const on = await scenario(true, sequence, o);
  const off = await scenario(false, sequence, o);
  const problems = [...on.problems.map((p) => `affinity on: ${p}`), ...off.problems.map((p) => `affinity off: ${p}`)];
  const xOn = on.x.map((b) => b.ms);
  const xOff = off.x.map((b) => b.ms);
  const r = median(xOn) / median(xOff);
  const cold = (s: ScenarioResult) => `${s.x.filter((b) => b.expensiveRuns > 0).length} of ${s.x.length}`;
  const back = (s: ScenarioResult) => `${s.x.filter((b) => b.sameAgentAsLast).length} of ${s.x.length}`;
  const agentsOf = (s: ScenarioResult) => s.x.map((b) => b.agent).join(' ');
  return {
    name: 'cache affinity',
    rows: [
      {
        metric: `scenario: X rebuilt ${o.rebuilds}× (1 file changed), 1–3 builds of Y/Z between (seed ${o.seed}); ${o.agents} agents, own dockerd each, GC high/low ${mib(on.gc.high)}/${mib(on.gc.low)} (one config's ${mib(o.blobBytes)} layer)`,
        value: `${sequence.length} builds a run`,
      },
      {
        metric: 'X rebuild created → Complete p50 / p90, affinity on',
        value: `${ms(median(xOn))} / ${ms(percentile(xOn, 90))}`,
      },
      {
        metric: 'X rebuild created → Complete p50 / p90, affinity off',
        value: `${ms(median(xOff))} / ${ms(percentile(xOff, 90))}`,
      },
      { metric: 'median on / off', value: ratio(r), target: '≤ 0.60', met: r <= 0.6 },
      { metric: 'X rebuilds that ran the expensive step (cold), on / off', value: `${cold(on)} / ${cold(off)}` },
      { metric: 'X rebuilds on the agent that built X last, on / off', value: `${back(on)} / ${back(off)}` },
      { metric: 'agent of each X rebuild, on', value: agentsOf(on) },
      { metric: 'agent of each X rebuild, off', value: agentsOf(off) },
      {
        metric: 'builds Complete, each attempt tagged once (on / off)',
        value: `${on.onceComplete}/${on.builds} / ${off.onceComplete}/${off.builds}`,
      },
    ],
    data: { sequence, seed: o.seed, blobBytes: o.blobBytes, on, off },
    problems,
  };
}

interface XBuild {
  name: string;
  ms: number;
  /** Index of the agent (and daemon) that ran it. */
  agent: number;
  /** Whether the build before it of the same config ran on the same agent. */
  sameAgentAsLast: boolean;
  /** Executions of X's expensive step during the build, at the run counter: 0 when the layer cache had it. */
  expensiveRuns: number;
}

interface ScenarioResult {
  x: XBuild[];
  /** Every build's name, config, agent and time, in order. */
  all: { name: string; config: string; agent: number; ms: number; phase: string; placed: string; stages: string }[];
  gc: { high: number; low: number };
  builds: number;
  /** Builds Complete whose attempt was tagged exactly once and no other attempt was. */
  onceComplete: number;
  problems: string[];
}

async function scenario(
  affinity: boolean,
  sequence: string[],
  o: { agents: number; blobBytes: number },
): Promise<ScenarioResult> {
  return onSlipway(
    async ({ stack, env, git, sw }) => {
      const problems: string[] = [];
      // One config's layers fit under the high threshold, two do not: after building another
      // config, GC removes the older one's image (and the layers only it used).
      const gc = { high: Math.round(o.blobBytes * 1.5), low: Math.round(o.blobBytes * 1.2) };
      const daemons = await Promise.all(Array.from({ length: o.agents }, () => startPrivateDaemon(stack)));
      const recorders = await Promise.all(daemons.map((d) => recordDaemonEvents(d.docker)));
      const counter = await startRunCounter(stack);
      for (const d of daemons) {
        await addAgent(stack, sw, {
          concurrency: 1,
          settings: {
            dockerHost: `unix://${d.socket}`,
            gcHighThreshold: String(gc.high),
            gcLowThreshold: String(gc.low),
            gcMinAgeMs: 0,
            gcIntervalMs: 5000,
          },
        });
      }
      const edits = new Map<string, number>();
      const source = (config: string) => `${config} source, edit ${edits.get(config) ?? 0}\n`;
      for (const config of ['x', 'y', 'z']) {
        const dockerfile = [
          `FROM ${env.baseImage}`,
          `RUN ${counter.command(`expensive-${config}`)} && head -c ${o.blobBytes} /dev/urandom > /blob && sleep 2`,
          'COPY src.txt /src.txt',
          'RUN wc -c /src.txt /blob > /sizes',
          '',
        ].join('\n');
        const repo = await git.createRepo(`affinity-${config}`, { Dockerfile: dockerfile, 'src.txt': source(config) });
        await sw.client.createBuildConfig(
          dockerBuildConfig(`affinity-${config}`, repo.uri, `${env.registry}/bench/affinity-${config}:latest`),
        );
      }
      // Agents register and heartbeat every 500 ms: let the coordinator's directory see all of them.
      await new Promise((r) => setTimeout(r, 2000));

      const all: ScenarioResult['all'] = [];
      const windows: { name: string; config: string; from: number; to: number; agent: number }[] = [];
      const finals: Build__Output[] = [];
      const measured = new Set<string>();
      // Each config built once first (unmeasured): every daemon holds one config, as a busy node would.
      for (const [i, config] of [...['x', 'y', 'z'], ...sequence].entries()) {
        if (i >= 3) {
          edits.set(config, (edits.get(config) ?? 0) + 1);
          await git.pushCommit(`affinity-${config}`, { 'src.txt': source(config) });
        }
        const b = await sw.client.startBuild({ namespace: 'default', configName: `affinity-${config}` });
        const final = await sw.client.waitForBuild('default', b.metadata!.name);
        finals.push(final);
        const name = final.metadata!.name;
        const from = Date.parse(final.metadata!.creationTimestamp);
        const to = Date.parse(final.status!.completionTimestamp ?? '') || Date.now();
        // addAgent names the n-th agent `agent-n-…`; the n-th agent builds on the n-th daemon.
        const agent = Number(/^agent-(\d+)-/.exec(final.status!.agent ?? '')?.[1] ?? -1);
        all.push({
          name,
          config,
          agent,
          ms: to - from,
          phase: final.status!.phase,
          placed: final
            .status!.events.filter((e) => e.reason === 'Placed')
            .map((e) => e.message)
            .join('; '),
          stages: (final.status!.stages ?? []).map((st) => `${st.name} ${st.durationMs} ms`).join(', '),
        });
        windows.push({ name, config, from, to, agent });
        if (i >= 3 && config === 'x') measured.add(name);
        if (final.status!.phase !== 'Complete')
          problems.push(
            `${name} (${config}): ${final.status!.phase} ${final.status!.reason ?? ''} ${final.status!.message ?? ''}`,
          );
      }

      const events = await Promise.all(recorders.map((r) => r.stop()));
      const once = exactlyOnce(finals, events.flat());
      problems.push(...once.problems);
      const x: XBuild[] = windows
        .filter((w) => measured.has(w.name))
        .map((w) => ({
          name: w.name,
          ms: w.to - w.from,
          agent: w.agent,
          sameAgentAsLast: windows.filter((v) => v.config === w.config && v.from < w.from).at(-1)?.agent === w.agent,
          // One build at a time: a report within the build's time is the build's, whichever daemon.
          expensiveRuns: counter
            .requests()
            .filter((r) => r.path === `/run/expensive-${w.config}` && r.atMs >= w.from - 1000 && r.atMs <= w.to + 1000)
            .length,
        }));
      return { x, all, gc, builds: finals.length, onceComplete: once.onceComplete, problems };
    },
    { coordinator: { placementAffinity: affinity } },
  );
}

/** Every build Complete, its attempt's image tagged exactly once over all daemons, no other attempt's at all. */
function exactlyOnce(finals: Build__Output[], events: DaemonEvent[]): { onceComplete: number; problems: string[] } {
  const tags = new Map<string, Map<string, number>>(); // build → attempt → tags
  for (const e of events) {
    const build = e.attributes[LABELS.build];
    if (e.type !== 'image' || e.action !== 'tag' || !build) continue;
    const attempts = tags.get(build) ?? new Map<string, number>();
    attempts.set(e.attributes[LABELS.attempt] ?? '?', (attempts.get(e.attributes[LABELS.attempt] ?? '?') ?? 0) + 1);
    tags.set(build, attempts);
  }
  const problems: string[] = [];
  let onceComplete = 0;
  for (const b of finals) {
    const name = b.metadata!.name;
    const attempts = tags.get(name) ?? new Map<string, number>();
    const mine = attempts.get(String(b.status!.attempt)) ?? 0;
    const others = [...attempts].filter(([a]) => a !== String(b.status!.attempt));
    if (mine !== 1)
      problems.push(`${name}: attempt ${b.status!.attempt} tagged ${mine} time(s) on the daemons, not once`);
    if (others.length > 0)
      problems.push(`${name}: other attempts tagged too: ${others.map(([a, n]) => `attempt ${a} ×${n}`).join(', ')}`);
    if (mine === 1 && others.length === 0 && b.status!.phase === 'Complete') onceComplete++;
  }
  return { onceComplete, problems };
}

/**
 * X `rebuilds` times, each followed by 1 to 3 builds of Y or Z (seeded, so both runs build the
 * same sequence).
 */
export function interleaving(rebuilds: number, seed: number): string[] {
  const next = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < rebuilds; i++) {
    out.push('x');
    const others = 1 + Math.floor(next() * 3);
    for (let j = 0; j < others; j++) out.push(next() < 0.5 ? 'y' : 'z');
  }
  return out;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
