import test from 'ava';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { MetricsFormatError, parsePrometheusText, sumOf } from '../common/metrics/prometheus-text.js';

test('reads what prom-client writes: every type, labels with escapes, default labels', async (t) => {
  const registry = new Registry();
  registry.setDefaultLabels({ agent: 'a-1' });
  const counter = new Counter({
    name: 'x_total',
    help: 'Things, with a \\ and a\nnewline.',
    labelNames: ['why'],
    registers: [registry],
  });
  const gauge = new Gauge({ name: 'x_bytes', help: 'Bytes.', registers: [registry] });
  const histogram = new Histogram({
    name: 'x_seconds',
    help: 'Time.',
    labelNames: ['phase'],
    buckets: [1, 5],
    registers: [registry],
  });
  const summary = new Summary({
    name: 'x_summary_seconds',
    help: 'Summary.',
    percentiles: [0.5],
    registers: [registry],
  });
  counter.inc({ why: 'a "quoted" \\ back\nslash' }, 2);
  counter.inc({ why: 'plain' });
  gauge.set(-1.5e3);
  histogram.observe({ phase: 'Complete' }, 0.5);
  histogram.observe({ phase: 'Complete' }, 3);
  histogram.observe({ phase: 'Complete' }, 30);
  histogram.observe({ phase: 'Failed' }, 2);
  summary.observe(4);

  const families = parsePrometheusText(await registry.metrics());
  t.deepEqual([...families.keys()].sort(), ['x_bytes', 'x_seconds', 'x_summary_seconds', 'x_total']);
  t.is(families.get('x_total')!.type, 'counter');
  t.is(families.get('x_total')!.help, 'Things, with a \\ and a\nnewline.');
  t.is(sumOf(families, 'x_total', { why: 'a "quoted" \\ back\nslash' }), 2);
  t.is(sumOf(families, 'x_total', { agent: 'a-1' }), 3);
  t.is(sumOf(families, 'x_bytes'), -1500);
  t.is(families.get('x_seconds')!.type, 'histogram');
  t.is(sumOf(families, 'x_seconds_count', { phase: 'Complete' }), 3);
  t.is(sumOf(families, 'x_seconds_sum', { phase: 'Complete' }), 33.5);
  t.is(sumOf(families, 'x_seconds_bucket', { phase: 'Complete', le: '5' }), 2);
  t.is(sumOf(families, 'x_seconds_bucket', { phase: 'Complete', le: '+Inf' }), 3);
  t.is(sumOf(families, 'x_seconds_count'), 4);
  t.is(sumOf(families, 'x_summary_seconds', { quantile: '0.5' }), 4);
  t.is(sumOf(families, 'x_summary_seconds_count'), 1);
  t.is(sumOf(families, 'x_missing'), undefined);
  t.is(sumOf(families, 'x_total', { why: 'nothing' }), undefined);
});

test('reads special values, timestamps, comments and untyped samples', (t) => {
  const families = parsePrometheusText(
    [
      '# a comment',
      'up 1 1700000000000',
      'nan_value NaN',
      'inf_value{a="b"} +Inf',
      'neg_inf -Inf',
      'exp 1.5e-3',
      '',
      '# TYPE g gauge',
      'g{ a = "1" , b="2",} 7',
    ].join('\n'),
  );
  t.is(families.get('up')!.type, 'untyped');
  t.is(families.get('up')!.samples[0]!.timestamp, 1_700_000_000_000);
  t.true(Number.isNaN(sumOf(families, 'nan_value')!));
  t.is(sumOf(families, 'inf_value', { a: 'b' }), Infinity);
  t.is(sumOf(families, 'neg_inf'), -Infinity);
  t.is(sumOf(families, 'exp'), 0.0015);
  t.deepEqual(families.get('g')!.samples[0]!.labels, { a: '1', b: '2' });
});

const refusals: [string, string, RegExp][] = [
  ['a bad metric name', '1x 3', /does not start with a metric name/],
  ['a value that is not a number', 'x 3a', /"3a" is not a number/],
  ['no value', 'x', /is not a value/],
  ['a fractional timestamp', 'x 1 2.5', /not a timestamp/],
  ['trailing words', 'x 1 2 3', /is not a value/],
  ['an unclosed label value', 'x{a="b} 1', /not closed/],
  ['an unknown escape', 'x{a="\\t"} 1', /not an escape/],
  ['a label twice', 'x{a="1",a="2"} 1', /label a twice/],
  ['a reserved label name', 'x{__name__="y"} 1', /not a label name/],
  ['a label without quotes', 'x{a=1} 1', /="…" expected/],
  ['a series twice', 'x{a="1"} 1\nx{a="1"} 2', /appears twice/],
  ['an unknown type', '# TYPE x meter', /not a metric type/],
  ['two TYPEs', '# TYPE x gauge\n# TYPE x gauge', /second TYPE/],
  ['two HELPs', '# HELP x a\n# HELP x b', /second HELP/],
  ['TYPE after samples', 'x 1\n# TYPE x gauge', /TYPE of "x" after its samples/],
  ['a family in two places', 'x 1\ny 1\nx{a="1"} 2', /lines of "x" are not together/],
  ['a bucket without le', '# TYPE h histogram\nh_bucket 1\nh_count 1', /without an "le" label/],
  ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1', /no le="\+Inf" bucket/],
  [
    'decreasing buckets',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_count 2',
    /bucket le=2 is below le=1/,
  ],
  [
    'a count that is not the +Inf bucket',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3',
    /_count 3 is not the \+Inf bucket 2/,
  ],
  ['a bare histogram sample', '# TYPE h histogram\nh 1', /without _bucket, _sum or _count/],
  ['le on a gauge', '# TYPE g gauge\ng{le="1"} 1', /may not have an "le" label/],
  ['a summary sample without quantile', '# TYPE s summary\ns 1', /without a quantile/],
];
for (const [what, text, problem] of refusals) {
  test(`refuses ${what}, naming the line`, (t) => {
    const err = t.throws(() => parsePrometheusText(`# HELP ok fine\nok 1\n${text}\n`), {
      instanceOf: MetricsFormatError,
    });
    t.regex(err!.message, problem);
    t.true(err!.line >= 3, `line ${err!.line}`);
  });
}
