import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../test/helpers/processes.js';
import { median } from './stats.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../bench/bare-build.sh');

/** The engine a bare `docker build` runs on: BuildKit (DOCKER_BUILDKIT=1) or the legacy builder (=0). */
export type Builder = 'buildkit' | 'legacy';

export interface BareBuild {
  /** The daemon's address (docker -H). */
  dockerHost: string;
  /** A docker CLI that runs BuildKit with DOCKER_BUILDKIT=1 (buildKitDockerCli); used for both engines. */
  cli: string;
  builder: Builder;
  /** A git repository whose branch main holds the Dockerfile at its root. */
  uri: string;
  image: string;
  /** More `docker build` options (--no-cache). */
  options?: string[];
  /** Keep the build's output (BuildKit's as plain progress) instead of building with --quiet. */
  keepOutput?: boolean;
}

/** How long a bare build took, ms: in all (the script's process, start to exit) and each step. */
export interface BareTimes {
  ms: number;
  /** clone, build, push, as the script timed them. */
  steps: Record<string, number>;
  /** The build's output, with keepOutput. */
  output?: string;
}

/**
 * Slipway's build done by hand (bench/bare-build.sh): git clone, docker build, docker push.
 * Resolves with how long it took; rejects with the script's stderr when it fails.
 */
export async function bareBuild(b: BareBuild): Promise<BareTimes> {
  if (!b.keepOutput) return runScript(b, {});
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-bare-'));
  try {
    const log = path.join(dir, 'build.log');
    const times = await runScript(b, { BARE_BUILD_LOG: log });
    return { ...times, output: await readFile(log, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runScript(b: BareBuild, env: Record<string, string>): Promise<BareTimes> {
  const t0 = performance.now();
  const out = await run('bash', [SCRIPT, b.dockerHost, b.uri, b.image, b.builder, ...(b.options ?? [])], {
    env: { ...process.env, ...env, SLIPWAY_BENCH_DOCKER: b.cli },
  });
  return { ms: performance.now() - t0, steps: steps(out) };
}

/** `name N` lines as { name: N }. */
function steps(out: string): Record<string, number> {
  return Object.fromEntries(
    out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((w) => w.length === 2 && Number.isFinite(Number(w[1])))
      .map(([name, v]) => [name!, Number(v)]),
  );
}

/** Per step, the median of its durations over `runs`. */
export function stepMedians(runs: readonly BareTimes[]): Record<string, number> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.steps)))];
  return Object.fromEntries(names.map((n) => [n, median(runs.flatMap((r) => (n in r.steps ? [r.steps[n]!] : [])))]));
}
