/**
 * Kubernetes resource quantities ("500m", "2", "512Mi", "1G"), enough of the grammar for CPU
 * and memory limits. Returns undefined for text that is not a quantity.
 */
const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi|[eE][+-]?\d+)?$/;

export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  const [, sign, digits, suffix = ''] = m;
  const base = Number(digits) * (sign === '-' ? -1 : 1);
  if (/^[eE]/.test(suffix)) return base * 10 ** Number(suffix.slice(1));
  return base * SUFFIX[suffix]!;
}

/** Docker's CFS settings for a CPU limit in cores: a period of 100 ms and the matching quota. */
export function cpuToCfs(cores: number): { cpuPeriod: number; cpuQuota: number } {
  const cpuPeriod = 100_000;
  return { cpuPeriod, cpuQuota: Math.max(1000, Math.round(cores * cpuPeriod)) };
}

/** A build's resources as messages name them: "memory 64Mi, cpu 500m" (memory first, whichever is set). */
export function formatResources(r: { memory?: string | number; cpu?: string | number }): string {
  return [r.memory ? `memory ${String(r.memory)}` : '', r.cpu ? `cpu ${String(r.cpu)}` : ''].filter(Boolean).join(', ');
}
