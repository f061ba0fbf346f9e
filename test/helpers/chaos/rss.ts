import { readFile } from 'node:fs/promises';

export interface RssSample {
  /** Ms after sampling started. */
  atMs: number;
  /** Which process (e.g. "coordinator 0"). */
  name: string;
  pid: number;
  mib: number;
}

/** A process's resident set from /proc/PID/status, in MiB; undefined when it is gone. */
export async function rssMiB(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status?.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

/** Samples the RSS of each named process (pid 0: down, skipped) every `everyMs` until stopped. */
export function sampleRss(processes: () => { name: string; pid: number }[], everyMs: number): { stop(): RssSample[] } {
  const samples: RssSample[] = [];
  const t0 = Date.now();
  const timer = setInterval(() => {
    for (const p of processes()) {
      if (p.pid === 0) continue;
      void rssMiB(p.pid).then((mib) => {
        if (mib !== undefined) samples.push({ atMs: Date.now() - t0, name: p.name, pid: p.pid, mib });
      });
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

export interface MemoryVerdict {
  earlyPeakMiB: number;
  latePeakMiB: number;
  /** The most the late peak may be: generous, since a run's RSS moves with GC and load. */
  boundMiB: number;
  flat: boolean;
}

/**
 * Flat across the run: the peak of the last quarter (by time) is at most 1.5× the first
 * quarter's plus 64 MiB. A leak of a few kilobytes a build over a 1,000-build run, or any
 * growth with the number of builds seen, breaks it; GC's ups and downs do not.
 */
export function memoryVerdict(samples: readonly RssSample[]): MemoryVerdict {
  const end = Math.max(0, ...samples.map((s) => s.atMs));
  const peak = (xs: RssSample[]) => Math.max(0, ...xs.map((s) => s.mib));
  const earlyPeakMiB = peak(samples.filter((s) => s.atMs <= end / 4));
  const latePeakMiB = peak(samples.filter((s) => s.atMs >= (end * 3) / 4));
  const boundMiB = earlyPeakMiB * 1.5 + 64;
  return { earlyPeakMiB, latePeakMiB, boundMiB, flat: samples.length > 0 && latePeakMiB <= boundMiB };
}

/** The samples as a few lines: per process, the peak of each tenth of the run. */
export function formatRss(samples: readonly RssSample[]): string {
  const end = Math.max(1, ...samples.map((s) => s.atMs));
  const names = [...new Set(samples.map((s) => s.name))].sort();
  return names
    .map((name) => {
      const mine = samples.filter((s) => s.name === name);
      const tenths = Array.from({ length: 10 }, (_, i) => {
        const xs = mine.filter((s) => Math.min(9, Math.floor((s.atMs / end) * 10)) === i);
        return xs.length ? Math.max(...xs.map((s) => s.mib)).toFixed(0) : '-';
      });
      return `  ${name} RSS MiB by tenth of the run (peak): ${tenths.join(' ')}  (${mine.length} samples, ${new Set(mine.map((s) => s.pid)).size} processes)`;
    })
    .join('\n');
}
