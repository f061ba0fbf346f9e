import { readFile, writeFile } from 'node:fs/promises';

/** A process's resident memory from /proc: now (VmRSS) and its peak (VmHWM), in bytes. */
export async function memoryOf(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * Sets a process's peak (VmHWM) back to its RSS now (Linux: `5` to /proc/PID/clear_refs; a
 * process of the same user), so the next memoryOf's peak is the peak since this call.
 */
export async function resetPeakMemory(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
