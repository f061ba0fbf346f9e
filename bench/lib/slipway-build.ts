import type { Slipway } from '../../test/helpers/slipway.js';
import { median } from './stats.js';

/** One Slipway build as the client saw it, with the build's own timestamps and its agent's stages. */
export interface TimedBuild {
  /** The build's name (namespace default). */
  name: string;
  /** StartBuild → the client sees it ended (Complete with a digest when it went well), milliseconds. */
  ms: number;
  /** created → Running (an agent claimed it), from the build's timestamps. */
  toRunning: number;
  /** Running → Complete, from the build's timestamps. */
  running: number;
  /** The final attempt's stages (FetchInputs, PullImages, Build, PushImage) as its agent timed them, ms. */
  stages: Record<string, number>;
  /** Why the build is not a good sample (not Complete, or no digest); undefined when it is. */
  problem?: string;
}

/** Starts a build of `configName` (namespace default) and waits for it to end. */
export async function timedBuild(sw: Slipway, configName: string): Promise<TimedBuild> {
  const t0 = performance.now();
  const b = await sw.client.startBuild({ namespace: 'default', configName });
  const final = await sw.client.waitForBuild('default', b.metadata!.name);
  const ms = performance.now() - t0;
  const status = final.status!;
  const at = (s: string | undefined) => new Date(s ?? Number.NaN).getTime();
  return {
    name: b.metadata!.name,
    ms,
    toRunning: at(status.startTimestamp) - at(final.metadata!.creationTimestamp),
    running: at(status.completionTimestamp) - at(status.startTimestamp),
    stages: Object.fromEntries((status.stages ?? []).map((s) => [s.name, Number(s.durationMs)])),
    problem:
      status.phase === 'Complete' && status.output?.digest
        ? undefined
        : `${b.metadata!.name}: ${status.phase} ${status.reason} ${status.message}`,
  };
}

/** Per stage name, the median of its durations over `builds` (stages a build lacks are skipped). */
export function stageMedians(builds: readonly TimedBuild[]): Record<string, number> {
  const names = [...new Set(builds.flatMap((b) => Object.keys(b.stages)))];
  return Object.fromEntries(
    names.map((n) => [n, median(builds.flatMap((b) => (n in b.stages ? [b.stages[n]!] : [])))]),
  );
}

/** The text of a build's current attempt's log, each line ended by a newline. */
export async function buildLog(sw: Slipway, name: string): Promise<string> {
  let text = '';
  for await (const line of sw.client.streamBuildLogs({ namespace: 'default', name, follow: false }))
    text += `${line.text}\n`;
  return text;
}
