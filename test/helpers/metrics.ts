/**
 * One sample of a Prometheus metric from GET http://address/metrics: the sum over every series
 * of `name` whose labels include `labels`; undefined when there is no such series.
 */
export async function metricValue(address: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const res = await fetch(`http://${address}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  let sum: number | undefined;
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const series = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => series[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}
