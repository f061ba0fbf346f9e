/**
 * A strict reader of Prometheus' text exposition format (version 0.0.4, what prom-client and
 * every Prometheus client library serve). Used where Slipway reads another process's metrics
 * (the agent reads its node cache's) and by the tests that check what /metrics says. Anything
 * the format does not allow is an error naming the line, rather than a sample skipped: a
 * reader that guesses would hide a broken exporter.
 *
 * Checked: metric and label names, quoting and escapes of label values (`\\`, `\"`, `\n`),
 * values (floats, NaN, +Inf, -Inf), optional integer timestamps, at most one HELP and one TYPE
 * per family and TYPE before the family's samples, a family's lines together, no series twice,
 * sample names that fit the family's type (`_bucket` with `le`, `_sum`, `_count` for histograms;
 * `quantile` for summaries), and histograms whose buckets never decrease and whose `+Inf` bucket
 * equals their `_count`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: the family's, or with `_bucket`, `_sum`, `_count` for histograms. */
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
  /** Milliseconds since the epoch, when the line gave one. */
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

/** Text that is not the exposition format; `line` is 1-based. */
export class MetricsFormatError extends Error {
  override readonly name = 'MetricsFormatError';
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Every family in `text`, by name. @throws MetricsFormatError */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  /** Families whose lines are over: another family's line came after them. */
  const closed = new Set<string>();
  const series = new Set<string>();
  const lineOf = new Map<Sample, number>();
  const helped = new Set<string>();
  const typed = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();

  const familyFor = (name: string, n: number): MetricFamily => {
    if (current?.name !== name) {
      if (closed.has(name)) throw new MetricsFormatError(n, `the lines of "${name}" are not together`);
      if (current) closed.add(current.name);
      current = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] };
      families.set(name, current);
    }
    return current;
  };

  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a comment
      const [, keyword, name, rest = ''] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new MetricsFormatError(n, `"${name}" is not a metric name`);
      const family = familyFor(name, n);
      if (keyword === 'HELP') {
        if (helped.has(name)) throw new MetricsFormatError(n, `a second HELP for "${name}"`);
        helped.add(name);
        family.help = unescapeHelp(rest, n);
      } else {
        const type = rest.trim();
        if (!TYPES.has(type)) throw new MetricsFormatError(n, `"${type}" is not a metric type`);
        if (family.samples.length > 0) throw new MetricsFormatError(n, `TYPE of "${name}" after its samples`);
        if (typed.has(name)) throw new MetricsFormatError(n, `a second TYPE for "${name}"`);
        typed.add(name);
        family.type = type as MetricType;
      }
      return;
    }
    const sample = parseSampleLine(line, n);
    const family = familyFor(familyName(sample.name, current), n);
    checkSampleName(family, sample, n);
    const id = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (series.has(id)) throw new MetricsFormatError(n, `${id} appears twice`);
    series.add(id);
    family.samples.push(sample);
    lineOf.set(sample, n);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f, lineOf);
  return families;
}

/** The family a sample belongs to: a histogram's or summary's suffixed samples go to theirs. */
function familyName(sample: string, current: MetricFamily | undefined): string {
  if (current && (current.type === 'histogram' || current.type === 'summary')) {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (sample === current.name + suffix && (suffix !== '_bucket' || current.type === 'histogram'))
        return current.name;
    }
  }
  return sample;
}

function checkSampleName(family: MetricFamily, s: Sample, n: number): void {
  if (family.type === 'histogram') {
    if (s.name === `${family.name}_bucket`) {
      if (s.labels.le === undefined) throw new MetricsFormatError(n, `${s.name} without an "le" label`);
      if (Number.isNaN(parseValue(s.labels.le))) throw new MetricsFormatError(n, `le="${s.labels.le}" is not a number`);
    } else if (s.labels.le !== undefined) {
      throw new MetricsFormatError(n, `only ${family.name}_bucket may have an "le" label`);
    } else if (s.name === family.name) {
      throw new MetricsFormatError(n, `histogram "${family.name}" has a sample without _bucket, _sum or _count`);
    }
  } else if (family.type === 'summary') {
    if (s.name === family.name && s.labels.quantile === undefined)
      throw new MetricsFormatError(n, `summary "${family.name}" has a sample without a quantile`);
  } else if (s.labels.le !== undefined && family.type !== 'untyped') {
    throw new MetricsFormatError(n, `a ${family.type} may not have an "le" label`);
  }
}

/** Per series (labels but le): buckets cumulative, and the +Inf bucket equal to _count. */
function checkHistogram(f: MetricFamily, lineOf: ReadonlyMap<Sample, number>): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; line: number }>();
  const key = (labels: Readonly<Record<string, string>>) =>
    JSON.stringify(
      Object.entries(labels)
        .filter(([k]) => k !== 'le')
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  const group = (s: Sample) => {
    const k = key(s.labels);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { buckets: [], line: lineOf.get(s)! }));
    return g;
  };
  for (const s of f.samples) {
    if (s.name === `${f.name}_bucket`) group(s).buckets.push([parseValue(s.labels.le!), s.value]);
    else if (s.name === `${f.name}_count`) group(s).count = s.value;
  }
  for (const [labels, g] of groups) {
    const sorted = g.buckets.sort((a, b) => a[0] - b[0]);
    const inf = sorted.at(-1);
    if (!inf || inf[0] !== Infinity)
      throw new MetricsFormatError(g.line, `histogram ${f.name}${labels} has no le="+Inf" bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![1] < sorted[i - 1]![1])
        throw new MetricsFormatError(
          g.line,
          `histogram ${f.name}${labels}: bucket le=${sorted[i]![0]} is below le=${sorted[i - 1]![0]}`,
        );
    }
    if (g.count !== undefined && g.count !== inf[1])
      throw new MetricsFormatError(
        g.line,
        `histogram ${f.name}${labels}: _count ${g.count} is not the +Inf bucket ${inf[1]}`,
      );
  }
}

function parseSampleLine(line: string, n: number): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new MetricsFormatError(n, `"${line.slice(0, 40)}" does not start with a metric name`);
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos));
      if (!ln) throw new MetricsFormatError(n, `a label name expected at column ${pos + 1}`);
      pos += ln[0].length;
      while (line[pos] === ' ') pos++;
      const equals = line[pos] === '=';
      pos++;
      while (line[pos] === ' ') pos++;
      if (!equals || line[pos] !== '"') throw new MetricsFormatError(n, `="…" expected after label ${ln[0]}`);
      pos++;
      let value = '';
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw new MetricsFormatError(n, `the value of label ${ln[0]} is not closed`);
        pos++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos++];
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else throw new MetricsFormatError(n, `"\\${e ?? ''}" is not an escape in a label value`);
        } else value += c;
      }
      if (!LABEL_NAME.test(ln[0]) || ln[0].startsWith('__'))
        throw new MetricsFormatError(n, `"${ln[0]}" is not a label name`);
      if (ln[0] in labels) throw new MetricsFormatError(n, `label ${ln[0]} twice`);
      labels[ln[0]] = value;
      while (line[pos] === ' ') pos++;
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new MetricsFormatError(n, `"," or "}" expected at column ${pos + 1}`);
    }
  }
  const rest = line.slice(pos);
  const m = /^[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$/.exec(rest);
  if (!m) throw new MetricsFormatError(n, `"${rest.trim().slice(0, 40)}" is not a value with an optional timestamp`);
  const value = parseValue(m[1]!);
  if (Number.isNaN(value) && m[1] !== 'NaN') throw new MetricsFormatError(n, `"${m[1]}" is not a number`);
  const sample: Sample = { name, labels, value };
  if (m[2] !== undefined) {
    if (!/^-?\d+$/.test(m[2])) throw new MetricsFormatError(n, `"${m[2]}" is not a timestamp in milliseconds`);
    sample.timestamp = Number(m[2]);
  }
  return sample;
}

/** A float as Go's ParseFloat reads it in the format; NaN when it is not one. */
function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return NaN;
  return Number(text);
}

function unescapeHelp(text: string, n: number): string {
  return text.replace(/\\(.?)/g, (_, e: string) => {
    if (e === '\\') return '\\';
    if (e === 'n') return '\n';
    throw new MetricsFormatError(n, `"\\${e}" is not an escape in HELP text`);
  });
}

/**
 * The samples named `name` (a family's or a histogram's `_bucket`/`_sum`/`_count`) whose labels
 * include all of `labels`.
 */
export function samplesOf(
  families: ReadonlyMap<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  return (family?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of `samplesOf`; undefined when there is no such sample. */
export function sumOf(
  families: ReadonlyMap<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samplesOf(families, name, labels);
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}
