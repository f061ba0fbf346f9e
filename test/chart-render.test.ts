import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { CHART, renderChart } from './helpers/chart.js';
import { tempDir } from './helpers/processes.js';

/**
 * tools/chart-render refuses what helm refuses before it renders anything: a chart whose
 * Chart.yaml lists a dependency that is not under charts/, whatever the dependency's condition
 * (helm checks dependencies before it evaluates conditions, helm/helm#13214). Slipway's chart
 * lists none, so `helm install` works from the repository as the README says; NATS comes from the
 * official NATS chart, installed on its own.
 */

const NATS = 'nats.url=nats://nats.nats-system.svc:4222';

/** A copy of charts/slipway whose Chart.yaml gets `extra` appended. */
async function chartWith(t: Parameters<typeof tempDir>[0], extra: string): Promise<string> {
  const dir = path.join(await tempDir(t, 'slipway-chart-'), 'slipway');
  await cp(CHART, dir, { recursive: true });
  const chartYaml = path.join(dir, 'Chart.yaml');
  await writeFile(chartYaml, `${await readFile(chartYaml, 'utf8')}${extra}`);
  return dir;
}

test('Chart.yaml lists no dependency, so the chart renders (and installs) from the repository as it is', async (t) => {
  const chart = parse(await readFile(path.join(CHART, 'Chart.yaml'), 'utf8')) as { dependencies?: unknown };
  t.is(chart.dependencies, undefined);
  const { objects } = await renderChart({ set: [NATS] });
  t.true(objects.some((o) => o.kind === 'Deployment'));
});

test('a dependency listed in Chart.yaml but missing under charts/ is refused with helm’s message, even when its condition is false', async (t) => {
  const chart = await chartWith(
    t,
    [
      'dependencies:',
      '  - name: nats',
      '    version: "1.2.x"',
      '    repository: https://nats-io.github.io/k8s/helm/charts/',
      '    condition: nats.enabled',
      '',
    ].join('\n'),
  );
  const err = await t.throwsAsync(renderChart({ chart, set: [NATS] }));
  t.regex(err!.message, /found in Chart\.yaml, but missing in charts\/ directory: nats$/);
  t.regex(err!.message, /helm dependency build/);
  // The condition is not consulted: false or absent, the answer is the same.
  const off = await t.throwsAsync(renderChart({ chart, set: [NATS, 'nats.enabled=false'] }));
  t.is(off!.message, err!.message);
});

test('every missing dependency is named, in Chart.yaml’s order', async (t) => {
  const chart = await chartWith(
    t,
    ['dependencies:', '  - name: nats', '    version: "1.2.x"', '  - name: other', '    version: "0.1.0"', ''].join(
      '\n',
    ),
  );
  const err = await t.throwsAsync(renderChart({ chart, set: [NATS] }));
  t.regex(err!.message, /missing in charts\/ directory: nats, other$/);
});

test('a chart without the dependency renders: the same copy, Chart.yaml unchanged', async (t) => {
  const chart = await chartWith(t, '');
  const { objects } = await renderChart({ chart, set: [NATS] });
  t.true(objects.some((o) => o.kind === 'DaemonSet'));
});
