import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { CHART, ROOT, one, renderChart } from './helpers/chart.js';
import { tempDir } from './helpers/processes.js';

/**
 * The install the README and docs/deploying.md tell a platform team to paste works as written:
 * the values file their install block writes passes values.schema.json and renders (no flag the
 * docs leave out is needed), into coordinators pointed at the NATS the same block installs, from
 * the registry it names; the namespace gets Pod Security `privileged`; each of install, verify,
 * upgrade and uninstall has its block.
 */

async function helmSection(file: string, heading: RegExp): Promise<string> {
  const text = await readFile(path.join(ROOT, file), 'utf8');
  const start = text.search(heading);
  if (start < 0) throw new Error(`${file}: no ${heading} section`);
  const level = /^#+/.exec(text.slice(start))![0];
  const rest = text.slice(start + level.length);
  const end = rest.search(new RegExp(`\\n${level} `));
  return end < 0 ? rest : rest.slice(0, end);
}

/** The values file the install block writes with `cat > slipway-values.yaml <<'VALUES'`. */
function valuesHeredoc(section: string): string {
  const m = /cat > slipway-values\.yaml <<'VALUES'\n([\s\S]*?)\nVALUES\n/.exec(section);
  if (!m) throw new Error('no slipway-values.yaml heredoc');
  return m[1]!;
}

for (const [file, heading] of [
  ['README.md', /^## Deploying with Helm$/m],
  ['docs/deploying.md', /^## Deploying with Helm$/m],
] as const) {
  test(`${file}: the pasted install renders, passes the schema, and reaches the NATS it installs`, async (t) => {
    const section = await helmSection(file, heading);
    const values = valuesHeredoc(section);
    const schema = JSON.parse(await readFile(path.join(CHART, 'values.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
    t.true(validate(parse(values)), JSON.stringify(validate.errors));

    const valuesFile = path.join(await tempDir(t, 'slipway-readme-'), 'slipway-values.yaml');
    await writeFile(valuesFile, values);
    const { objects } = await renderChart({ values: [valuesFile], imageRegistry: null });
    const coordinator = one(objects, 'Deployment', '-coordinator').spec.template.spec.containers[0];
    t.is(coordinator.image, 'registry.example.com/slipway/slipway-coordinator:0.1.0');
    const env = (name: string) => coordinator.env.find((e: { name: string }) => e.name === name);
    t.is(env('SLIPWAY_NATS_URL').value, 'nats://nats.nats-system.svc:4222');
    t.is(env('SLIPWAY_NATS_REPLICAS').value, '3');
    t.deepEqual(env('SLIPWAY_SECRET_KEY').valueFrom, {
      secretKeyRef: { name: 'slipway-secret-key', key: 'secret-key' },
    });

    t.regex(section, /helm install nats nats\/nats -n nats-system --create-namespace -f charts\/nats-values\.yaml/);
    t.regex(section, /kubectl label namespace slipway-system pod-security\.kubernetes\.io\/enforce=privileged/);
    t.regex(section, /helm install slipway charts\/slipway -n slipway-system -f slipway-values\.yaml/);
    t.regex(section, /rollout status daemonset\/slipway-agent/);
    t.regex(section, /helm upgrade slipway charts\/slipway -n slipway-system -f slipway-values\.yaml/);
    t.regex(section, /helm uninstall slipway -n slipway-system/);
    t.regex(section, /kubectl get apiservice v1\.build\.slipway\.dev/);
    t.regex(section, /1\.29/);
    t.regex(section, /StorageClass/);
  });
}
