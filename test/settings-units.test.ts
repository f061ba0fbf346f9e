import { readdir, readFile, writeFile } from 'node:fs/promises';
import { BUILDER_VARIABLES } from '../agent/strategies/custom-builder.js';
import path from 'node:path';
import test from 'ava';
import { agentConfigFromEnv } from '../agent/config.js';
import { InvalidInputError } from '../common/errors.js';
import { LOGS_STREAM } from '../common/nats/logs.js';
import { JOBS_STREAM } from '../common/nats/names.js';
import { coordinatorConfigFromEnv } from '../coordinator/config.js';
import { nodeCacheConfigFromEnv } from '../node-cache/config.js';
import { PROCESSES, SETTINGS_PAGE, settingsPage } from '../tools/settings-reference.js';
import { CHART, ROOT, podTemplates, renderChart, type K8sObject } from './helpers/chart.js';
import { tempDir } from './helpers/processes.js';

/**
 * Code, chart and docs say the same about settings: docs/settings.md is what the declarations
 * make, the chart sets only variables its process declares (and every one the declarations say
 * it sets), no code reads a SLIPWAY_* variable outside the declarations, and every setting
 * refuses an empty value the same way. No servers: the chart is rendered, nothing is started.
 */

const FROM_ENV: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  coordinator: coordinatorConfigFromEnv,
  agent: agentConfigFromEnv,
  'node-cache': nodeCacheConfigFromEnv,
};

const declared = (process: string) =>
  new Set(Object.values(PROCESSES.find((p) => p.name === process)!.settings).flatMap((s) => (s.env ? [s.env] : [])));

test('docs/settings.md is what the declarations make (npm run docs:settings writes it)', async (t) => {
  t.is(await readFile(path.join(ROOT, SETTINGS_PAGE), 'utf8'), settingsPage());
});

test('every setting refuses an empty value, naming its variable, and takes its default when unset', (t) => {
  for (const p of PROCESSES) {
    const fromEnv = FROM_ENV[p.name]!;
    t.deepEqual(fromEnv({}), {}, p.name);
    for (const s of Object.values(p.settings)) {
      if (!s.env) continue;
      for (const empty of ['', ' ']) {
        const err = t.throws(
          () => fromEnv({ [s.env!]: empty }),
          { instanceOf: InvalidInputError },
          `${p.name} ${s.env}`,
        );
        t.deepEqual(
          err!.fields.map((f) => f.field),
          [s.env],
          `${p.name} ${s.env}`,
        );
        t.regex(err!.message, new RegExp(`${s.env}: is empty: unset it for the default`));
      }
    }
  }
});

test('malformed text is refused naming the variable: whole numbers, booleans, labels', (t) => {
  const field = (fn: () => unknown) =>
    t.throws(fn, { instanceOf: InvalidInputError })!.fields.map((f) => `${f.field}: ${f.message}`);
  t.deepEqual(
    field(() => agentConfigFromEnv({ SLIPWAY_AGENT_CONCURRENCY: '2x' })),
    ['SLIPWAY_AGENT_CONCURRENCY: must be a whole number, got "2x"'],
  );
  t.deepEqual(
    field(() => agentConfigFromEnv({ SLIPWAY_KUBE_NODE: 'yes' })),
    ['SLIPWAY_KUBE_NODE: must be true or false, got "yes"'],
  );
  t.deepEqual(field(() => agentConfigFromEnv({ SLIPWAY_NODE_LABELS: 'novalue' })).length, 1);
  t.deepEqual(
    coordinatorConfigFromEnv({ SLIPWAY_PLACEMENT_AFFINITY: 'FALSE', SLIPWAY_INSECURE_REGISTRIES: ' a:5000, ,b ' }),
    { placementAffinity: false, insecureRegistries: ['a:5000', 'b'] },
  );
});

/** Every way the chart is rendered here, with one values file setting every optional value. */
async function renderings(dir: string): Promise<K8sObject[][]> {
  const everything = path.join(dir, 'everything.yaml');
  await writeFile(
    everything,
    [
      'logLevel: debug',
      'coordinator: { httpPort: 8080, unprivilegedNamespaces: [team-a], agentGraceMs: 20000, agentRetentionMs: 3600000, heapGrowingPercent: 25, logMaxAgeMs: 86400000, logMaxBytes: 2147483648, placement: { affinity: false, affinityGraceMs: 5000, timeoutMs: 60000, checkMs: 3000, remindMs: 1500 } }',
      'kubeApi: { requestheader: { usernameHeaders: X-User, groupHeaders: X-Group, extraHeadersPrefix: X-Extra- } }',
      'agent: { concurrency: 3, cpu: "4", memory: 8Gi, nodeLabels: { zone: a }, heartbeatIntervalMs: 1000, maxContextBytes: 1024, maxContextEntries: 10, maxContextRatio: 10,',
      '  gc: { highThreshold: 80Gi, lowThreshold: 60Gi, intervalMs: 60000, minAgeMs: 1000, pinnedImages: [busybox] } }',
      'nodeCache: { enabled: true, upstream: "https://mirror.example", maxBytes: 10Gi, ttl: 1d, sweepIntervalMs: 1000, metricsPort: 9465, upstreamCredentials: { existingSecret: hub } }',
    ].join('\n'),
  );
  const nats = 'nats.url=nats://nats.nats-system.svc:4222';
  const examples = path.join(CHART, 'examples');
  const options: Parameters<typeof renderChart>[0][] = [
    { set: [nats] },
    { set: [nats, 'agent.mode=dind'] },
    { set: [nats, 'nodeCache.enabled=true'] },
    { values: [path.join(examples, 'production.yaml'), everything] },
    // The security values: gRPC TLS, agent mTLS, NATS users with passwords, then creds files.
    {
      set: [
        nats,
        'grpcTls.enabled=true',
        'grpcTls.existingSecret=tls',
        'agentMtls.enabled=true',
        'agentMtls.clientCA.existingSecret=ca',
        'agentMtls.csi.issuerRef.name=agents',
        'natsAuth.coordinator.existingSecret=c',
        'natsAuth.agent.existingSecret=a',
      ],
    },
    {
      set: [
        nats,
        'natsAuth.coordinator.existingSecret=c',
        'natsAuth.coordinator.type=creds',
        'natsAuth.agent.existingSecret=a',
        'natsAuth.agent.type=creds',
      ],
    },
  ];
  for (const f of (await readdir(examples)).filter((f) => f.endsWith('.yaml')))
    options.push({ values: [path.join(examples, f)] });
  return Promise.all(options.map(async (o) => (await renderChart(o)).objects));
}

test('the chart sets only variables its process declares, and every one the declarations say it sets', async (t) => {
  const seen = new Map<string, Set<string>>(PROCESSES.map((p) => [p.name, new Set()]));
  for (const objects of await renderings(await tempDir(t))) {
    for (const { workload, spec } of podTemplates(objects)) {
      for (const c of [...(spec.initContainers ?? []), ...spec.containers] as {
        name: string;
        env?: { name: string }[];
      }[]) {
        const names = (c.env ?? []).map((e) => e.name).filter((n) => n.startsWith('SLIPWAY_'));
        if (!seen.has(c.name)) {
          t.deepEqual(names, [], `${workload} ${c.name} runs no Slipway process`);
          continue;
        }
        for (const n of names) {
          t.true(
            declared(c.name).has(n),
            `${workload}: the ${c.name} container gets ${n}, which the ${c.name} does not declare`,
          );
          seen.get(c.name)!.add(n);
        }
      }
    }
  }
  for (const p of PROCESSES) {
    t.true(seen.get(p.name)!.size >= 8, `${p.name}: the renderings set its variables`);
    const chartSet = Object.values(p.settings)
      .filter((s) => s.env && s.chart)
      .map((s) => s.env!);
    t.deepEqual(
      chartSet.filter((n) => !seen.get(p.name)!.has(n)),
      [],
      `${p.name}: declared as set by the chart, never in a rendering`,
    );
    t.deepEqual(
      [...seen.get(p.name)!].filter((n) => !chartSet.includes(n)),
      [],
      `${p.name}: set by the chart, but the declaration names no chart value`,
    );
  }
});

test('no code reads a SLIPWAY_* variable outside the declarations', async (t) => {
  // The custom builder's variables are its inputs, not settings of a Slipway process.
  const everyName = new Set<string>([
    ...PROCESSES.flatMap((p) => [...declared(p.name)]),
    JOBS_STREAM,
    LOGS_STREAM,
    ...BUILDER_VARIABLES,
  ]);
  for (const folder of ['agent', 'coordinator', 'node-cache', 'common', 'api']) {
    for (const file of await sources(path.join(ROOT, folder))) {
      const text = await readFile(file, 'utf8');
      const where = path.relative(ROOT, file);
      t.false(/process\.env(\.|\[\s*['"`])SLIPWAY_/.test(text), `${where} reads process.env.SLIPWAY_* itself`);
      for (const m of text.matchAll(/['"`](SLIPWAY_[A-Z0-9_]+)/g))
        t.true(everyName.has(m[1]!), `${where} names ${m[1]}, which no process declares`);
    }
  }
});

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'generated') out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}
