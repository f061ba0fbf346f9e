/** One line of the results table. */
export interface Row {
  metric: string;
  value: string;
  /** The target, when it sets one. */
  target?: string;
  /** Whether the value meets the target (undefined: no target). Informational: never fails a run. */
  met?: boolean;
}

/** What one benchmark measured: rows for the table, raw data for the JSON, and correctness problems. */
export interface BenchResult {
  name: string;
  rows: Row[];
  data: Record<string, unknown>;
  /** Lost or duplicated builds, failed builds: these fail the run. Timings never do. */
  problems: string[];
}

export function ms(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : 'n/a';
}

export function ratio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a';
}

/** The results as a plain-text table. */
export function table(results: BenchResult[]): string {
  const rows = results.flatMap((r) =>
    r.rows.map((row) => [
      r.name,
      row.metric,
      row.value,
      row.target ?? '',
      row.met === undefined ? '' : row.met ? 'yes' : 'NO',
    ]),
  );
  const head = ['benchmark', 'metric', 'value', 'target', 'met'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
