import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
}

/**
 * Slipway's build done by hand (bench/bare-build.sh): git clone, docker build, docker push.
 * Returns how long it took in milliseconds; rejects with the script's stderr when it fails.
 */
export function bareBuild(b: BareBuild): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, b.dockerHost, b.uri, b.image, b.builder, ...(b.options ?? [])], {
      env: { ...process.env, SLIPWAY_BENCH_DOCKER: b.cli },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - t0)
        : reject(new Error(`bare-build.sh (${b.builder}) exited ${code}: ${err.trim()}`)),
    );
  });
}
