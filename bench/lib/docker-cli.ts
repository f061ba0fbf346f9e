import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Where a BuildKit-capable docker CLI is looked for when SLIPWAY_BENCH_DOCKER is not set. */
const CANDIDATES = ['docker', '/usr/bin/docker', '/usr/local/bin/docker'];

/**
 * A docker CLI whose `docker build` really runs BuildKit with DOCKER_BUILDKIT=1, for the bare
 * builds (bench/bare-build.sh): SLIPWAY_BENCH_DOCKER when set, else the first of `docker`,
 * /usr/bin/docker, /usr/local/bin/docker that passes. Docker 20.10's CLI has a BuildKit client
 * built in; 23 and later need the buildx plugin and without it fail ("buildx component is
 * missing"), or, with DOCKER_BUILDKIT unset, fall back to the legacy builder. The check is a
 * one-line build whose plain progress must read as BuildKit's (`[internal] load build
 * definition`). Throws naming every CLI tried when none passes.
 */
export async function buildKitDockerCli(dockerHost: string, baseImage: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-bench-cli-'));
  try {
    await writeFile(path.join(dir, 'Dockerfile'), `FROM ${baseImage}\n`);
    const tried: string[] = [];
    const wanted = process.env.SLIPWAY_BENCH_DOCKER;
    for (const cli of wanted ? [wanted] : CANDIDATES) {
      const out = await output(cli, ['-H', dockerHost, 'build', '--progress=plain', '--network', 'host', dir], {
        DOCKER_BUILDKIT: '1',
      });
      if (/\[internal\] load build definition/.test(out)) return cli;
      tried.push(`${cli}: ${out.split('\n').find((l) => l.trim()) ?? 'no output'}`);
    }
    throw new Error(`no docker CLI here runs BuildKit with DOCKER_BUILDKIT=1 (tried ${tried.join('; ')})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A command's stdout and stderr together, whatever its exit; a command that cannot start gives its error. */
function output(command: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err) => resolve(err.message));
    child.on('close', () => resolve(out));
  });
}
