import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { Ajv } from 'ajv';
import { CHART, TEST_IMAGE_REGISTRY, one, podTemplates, renderChart, type K8sObject } from './helpers/chart.js';

/**
 * Where the chart's images come from. Slipway's own images are published nowhere, so the chart
 * names none until the platform team says where it pushed them (image.registry, required, with a
 * message pointing at docs/deploying.md); the node cache has an image of its own (the agent's
 * has no docker-registry); the dind sidecar's is a real public image.
 */

const NATS = 'nats.url=nats://nats.nats-system.svc:4222';
const DIND = 'docker.io/library/docker:27.5-dind';

function images(objects: K8sObject[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const { workload, spec } of podTemplates(objects))
    for (const c of [...(spec.initContainers ?? []), ...spec.containers] as { name: string; image: string }[])
      out.set(`${workload}/${c.name}`, c.image);
  return out;
}

test('without image.registry the chart refuses to render, naming the value and where the images come from', async (t) => {
  for (const set of [[NATS], [NATS, 'agent.mode=host'], [NATS, 'image.registry=']]) {
    const err = await t.throwsAsync(renderChart({ set, imageRegistry: null }));
    t.regex(err!.message, /image\.registry is required/);
    t.regex(err!.message, /published nowhere/);
    t.regex(err!.message, /docs\/deploying\.md#slipways-own-images/);
  }
});

test('each Slipway image is REGISTRY/slipway-NAME:appVersion; the node cache has its own; dind is the public docker image', async (t) => {
  const dind = images(
    (
      await renderChart({
        values: [path.join(CHART, 'examples/node-cache.yaml')],
        set: ['image.registry=reg.example:5000/team/'],
      })
    ).objects,
  );
  t.deepEqual(Object.fromEntries(dind), {
    'Deployment/slipway-coordinator/coordinator': 'reg.example:5000/team/slipway-coordinator:0.1.0',
    'DaemonSet/slipway-agent/node-cache': 'reg.example:5000/team/slipway-node-cache:0.1.0',
    'DaemonSet/slipway-agent/dind': DIND,
    'DaemonSet/slipway-agent/agent': 'reg.example:5000/team/slipway-agent:0.1.0',
  });
  const host = (
    await renderChart({ set: [NATS, 'agent.mode=host', 'nodeCache.enabled=true', 'agent.image.tag=1.2.3'] })
  ).objects;
  t.is(
    one(host, 'DaemonSet', '-node-cache').spec.template.spec.containers[0].image,
    `${TEST_IMAGE_REGISTRY}/slipway-node-cache:0.1.0`,
  );
  t.is(images(host).get('DaemonSet/slipway-agent/agent'), `${TEST_IMAGE_REGISTRY}/slipway-agent:1.2.3`);
});

test('values.schema.json takes a registry and path, and refuses a URL or a reference with a tag', async (t) => {
  const schema = JSON.parse(await readFile(path.join(CHART, 'values.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  const errors = (registry: string) =>
    validate({ image: { registry } }) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  for (const ok of ['', 'registry.example.com/slipway', '127.0.0.1:15000/slipway', 'ghcr.io/org/team/'])
    t.deepEqual(errors(ok), [], ok);
  for (const bad of ['https://registry.example.com/slipway', 'registry.example.com/slipway:1.0', 'Registry.Example'])
    t.true(
      errors(bad).some((e) => e.startsWith('/image/registry must match pattern')),
      bad,
    );
});
