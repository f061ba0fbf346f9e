import { parsePrometheusText, sumOf, type MetricFamily } from '../../common/metrics/prometheus-text.js';

export type Scrape = ReadonlyMap<string, MetricFamily>;

/**
 * GET http://address/metrics, read strictly as Prometheus' text format (a malformed exposition
 * fails the test). `address` is host:port or a base URL.
 */
export async function scrape(address: string): Promise<Scrape> {
  const base = address.startsWith('http') ? address : `http://${address}`;
  const res = await fetch(`${base}/metrics`);
  if (!res.ok) throw new Error(`GET ${base}/metrics answered ${res.status}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain'))
    throw new Error(`GET ${base}/metrics is ${res.headers.get('content-type')}, not text/plain`);
  return parsePrometheusText(await res.text());
}

/**
 * One figure from GET http://address/metrics: the sum over every series of `name` whose labels
 * include `labels`; undefined when there is no such series.
 */
export async function metricValue(
  address: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  return sumOf(await scrape(address), name, labels);
}

/** Scrapes until `ready` holds for the scrape (figures that follow a watch or a heartbeat), at most `ms`. */
export async function scrapeUntil(address: string, ready: (s: Scrape) => boolean, ms = 15_000): Promise<Scrape> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await scrape(address);
    if (ready(s) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}
