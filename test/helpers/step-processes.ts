import { readdir, readFile } from 'node:fs/promises';

/**
 * Pids of the processes on this machine whose command line is exactly `args`. A BuildKit RUN
 * step is no Docker container (the daemon runs it with runc itself), so tests find a running
 * step by its process: give it a command no other process has (`sleep 61843`).
 */
export async function processesRunning(args: string[]): Promise<number[]> {
  const wanted = args.join('\0') + '\0';
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline === wanted) pids.push(Number(entry));
  }
  return pids;
}

/** A command for a RUN step that sleeps long and that no other process runs: `['sleep', '6xxxx']`. */
export function uniqueSleep(): string[] {
  return ['sleep', String(60_000 + Math.floor(Math.random() * 40_000))];
}
