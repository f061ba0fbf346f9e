import { readFile, writeFile } from 'node:fs/promises';

/** Resident and peak resident memory of a process, in bytes, from /proc. */
export async function memoryOf(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU time (user + system) a process has used, in seconds, from /proc (clock ticks of 1/100 s). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at index 2; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds used by several processes together. */
export async function cpuSecondsOfAll(pids: readonly number[]): Promise<number> {
  const each = await Promise.all(pids.map(cpuSecondsOf));
  return each.reduce((a, b) => a + b, 0);
}

/**
 * Sets a process's peak (VmHWM) back to its RSS now (Linux: `5` to /proc/PID/clear_refs; a
 * process of the same user), so the next memoryOf's peak is the peak since this call.
 */
export async function resetPeakMemory(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

export function mib(bytes: number, digits = 0): string {
  return `${(bytes / 2 ** 20).toFixed(digits)} MiB`;
}

export function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msec));
}
