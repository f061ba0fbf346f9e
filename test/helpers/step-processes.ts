import { readdir, readFile } from 'node:fs/promises';
import type { SlipwayClient } from '../../cli/client.js';
import { eventually } from './eventually.js';
import { untilStepPrinted } from './log-lines.js';

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

/**
 * Waits until the RUN step of build `name` (`RUN echo <marker> && <sleep>`) has printed `marker`
 * and its `sleep` process runs on this machine; resolves to that process's pids.
 */
export async function untilStepRuns(
  client: SlipwayClient,
  name: string,
  marker: string,
  sleep: string[],
): Promise<number[]> {
  await untilStepPrinted(client, name, marker);
  return eventually(`the step's ${sleep.join(' ')} to run`, async () => {
    const pids = await processesRunning(sleep);
    return pids.length > 0 ? pids : undefined;
  });
}

/** Waits (`timeoutMs`, default 10 s) until no process runs `sleep`: the step was stopped on this machine. */
export async function untilStepStopped(sleep: string[], timeoutMs = 10_000): Promise<void> {
  await eventually(`${sleep.join(' ')} to stop`, async () => (await processesRunning(sleep)).length === 0, {
    timeoutMs,
  });
}
