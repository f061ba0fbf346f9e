import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { CHART, one, renderChart, type K8sObject, type RenderOptions } from './helpers/chart.js';
import { SECRETS, SECURE } from './helpers/chart-security-values.js';
import { kubeSchemaProblems } from './helpers/kube-schemas.js';
import { tempDir } from './helpers/processes.js';

/**
 * Every object of every rendering of the chart validates against the Kubernetes API's schemas
 * (kubernetes-models, Kubernetes 1.30) with unknown fields refused, as `kubectl apply
 * --validate=strict` would: the defaults, host mode, dind mode, each example, and a rendering of
 * each mode with every optional value the chart has switched on. And the check can fail: an
 * unknown field and a wrong type are refused, each with its path.
 */

const NATS = 'nats.url=nats://nats.nats-system.svc:4222';
const EXAMPLES = path.join(CHART, 'examples');

/** Every optional value set, over examples/production.yaml (dind, Kubernetes API, node cache). */
const EVERYTHING_DIND = `
logLevel: debug
imagePullSecrets: [registry-credentials]
coordinator:
  httpPort: 8080
  agentGraceMs: 20000
  logMaxAgeMs: 86400000
  logMaxBytes: 2147483648
  placement: { affinity: false, affinityGraceMs: 5000, timeoutMs: 60000, checkMs: 3000, remindMs: 1500 }
  extraEnv: [{ name: EXTRA, value: "1" }]
  podAnnotations: { example.com/team: builds }
  nodeSelector: { kubernetes.io/os: linux }
  tolerations: [{ key: dedicated, operator: Exists, effect: NoSchedule }]
  service: { type: NodePort }
  serviceAccount: { annotations: { example.com/role: coordinator } }
kubeApi:
  authenticationReaderBinding: true
  requestheader: { usernameHeaders: X-User, groupHeaders: X-Group, extraHeadersPrefix: X-Extra- }
agent:
  cpu: "4"
  memory: 8Gi
  nodeLabels: { zone: a }
  heartbeatIntervalMs: 1000
  maxContextBytes: 1024
  maxContextEntries: 10
  maxContextRatio: 10
  dind: { extraArgs: [--debug] }
  gc: { intervalMs: 60000, minAgeMs: 1000 }
  metrics: { enabled: true }
  extraEnv: [{ name: EXTRA, valueFrom: { fieldRef: { fieldPath: spec.nodeName } } }]
  podAnnotations: { example.com/team: builds }
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{ matchExpressions: [{ key: kubernetes.io/arch, operator: In, values: [amd64] }] }]
  serviceAccount: { annotations: { example.com/role: agent } }
nodeCache:
  upstream: https://mirror.example
  maxBytes: 10Gi
  ttl: 1d
  sweepIntervalMs: 1000
  metricsPort: 9465
`;

/** Host mode with everything it adds: the socket group, the data root, the node cache DaemonSet, tokens. */
const EVERYTHING_HOST = `
agent:
  mode: host
  host: { socketGroup: 999, dataRoot: /var/lib/docker }
  metrics: { enabled: true }
  priorityClassName: system-node-critical
  tolerations: [{ key: dedicated, operator: Exists, effect: NoSchedule }]
nodeCache:
  enabled: true
  upstreamCredentials: { existingSecret: dockerhub }
kubeApi:
  enabled: true
  auth: tokens
  tls: { existingSecret: slipway-serving }
  apiService: { caBundle: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg== }
apiTokens:
  existingSecret: slipway-tokens
`;

async function renderings(dir: string): Promise<{ name: string; options: RenderOptions }[]> {
  const dind = path.join(dir, 'everything-dind.yaml');
  const host = path.join(dir, 'everything-host.yaml');
  await writeFile(dind, EVERYTHING_DIND);
  await writeFile(host, EVERYTHING_HOST);
  const secure = path.join(dir, 'secure.yaml');
  const secrets = path.join(dir, 'secrets.yaml');
  await writeFile(secure, SECURE);
  await writeFile(secrets, SECRETS);
  const out: { name: string; options: RenderOptions }[] = [
    { name: 'defaults', options: { set: [NATS] } },
    { name: 'host', options: { set: [NATS, 'agent.mode=host'] } },
    { name: 'dind', options: { set: [NATS, 'agent.mode=dind'] } },
    { name: 'dind + node cache', options: { set: [NATS, 'nodeCache.enabled=true'] } },
    { name: 'host + node cache', options: { set: [NATS, 'agent.mode=host', 'nodeCache.enabled=true'] } },
    { name: 'every option, dind', options: { values: [path.join(EXAMPLES, 'production.yaml'), dind] } },
    { name: 'every option, host', options: { values: [path.join(EXAMPLES, 'production.yaml'), dind, host] } },
    { name: 'security: cert-manager, mTLS, NATS creds, policies, Ingress, monitors', options: { values: [secure] } },
    { name: 'security: TLS and NATS users from Secrets', options: { values: [secrets] } },
    { name: 'security, host mode', options: { values: [secure], set: ['agent.mode=host'] } },
  ];
  for (const f of (await readdir(EXAMPLES)).filter((f) => f.endsWith('.yaml')).sort())
    out.push({ name: `examples/${f}`, options: { values: [path.join(EXAMPLES, f)] } });
  return out;
}

function problems(objects: K8sObject[]): string[] {
  return objects.flatMap((o) =>
    kubeSchemaProblems(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path}: ${p.message}`),
  );
}

test('every rendered object of every rendering validates against the Kubernetes schemas, unknown fields refused', async (t) => {
  const all = await renderings(await tempDir(t, 'slipway-chart-'));
  const kinds = new Set<string>();
  let count = 0;
  for (const { name, options } of all) {
    const { objects } = await renderChart(options);
    t.true(objects.length > 0, name);
    t.deepEqual(problems(objects), [], name);
    for (const o of objects) kinds.add(o.kind);
    count += objects.length;
  }
  // The renderings above did reach what they were meant to: every kind the chart makes.
  for (const kind of [
    'Deployment',
    'DaemonSet',
    'Service',
    'ServiceAccount',
    'PodDisruptionBudget',
    'ClusterRole',
    'ClusterRoleBinding',
    'RoleBinding',
    'APIService',
    'Certificate',
    'NetworkPolicy',
    'Ingress',
    'ServiceMonitor',
    'PodMonitor',
    'Pod',
  ])
    t.true(kinds.has(kind), kind);
  t.log(`${count} objects in ${all.length} renderings`);
});

test('the every-option renderings do switch the options on', async (t) => {
  const all = await renderings(await tempDir(t, 'slipway-chart-'));
  const dind = (await renderChart(all.find((r) => r.name === 'every option, dind')!.options)).objects;
  const agent = one(dind, 'DaemonSet', '-agent').spec.template.spec;
  t.deepEqual(
    agent.initContainers.map((c: { name: string; restartPolicy: string }) => [c.name, c.restartPolicy]),
    [
      ['node-cache', 'Always'],
      ['dind', 'Always'],
    ],
    'native sidecars (a 1.29 field) are among what was validated',
  );
  t.truthy(agent.affinity.nodeAffinity);
  t.is(one(dind, 'Service').spec.type, 'NodePort');
  t.is(one(dind, 'RoleBinding').metadata.namespace, 'kube-system');
  const host = (await renderChart(all.find((r) => r.name === 'every option, host')!.options)).objects;
  t.deepEqual(one(host, 'DaemonSet', '-agent').spec.template.spec.securityContext.supplementalGroups, [999]);
  t.truthy(one(host, 'DaemonSet', '-node-cache'));
  t.truthy(one(host, 'APIService'));
});

test('an unknown field and a wrong type are refused, each with its path; a map takes any key', async (t) => {
  const { objects } = await renderChart({ set: [NATS, 'nodeCache.enabled=true'] });
  const fresh = () => structuredClone(one(objects, 'DaemonSet', '-agent'));
  t.deepEqual(kubeSchemaProblems(fresh()), []);

  const unknown = fresh();
  unknown.spec.template.spec.initContainers[1].securityContext.privilegd = true;
  unknown.spec.template.spec.volumes[0].emptyDir.sizeLimt = '1Gi';
  unknown.spec.updateStrategy.rollingUpdate.maxUnavailabel = 1;
  unknown.metadata.labels!['example.com/any-label'] = 'labels are a map: any key';
  const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
  t.deepEqual(kubeSchemaProblems(unknown).sort(byPath), [
    { path: '/spec/template/spec/initContainers/1/securityContext/privilegd', message: 'unknown field' },
    { path: '/spec/template/spec/volumes/0/emptyDir/sizeLimt', message: 'unknown field' },
    { path: '/spec/updateStrategy/rollingUpdate/maxUnavailabel', message: 'unknown field' },
  ]);
  const topLevel = fresh();
  topLevel.specs = {};
  t.deepEqual(kubeSchemaProblems(topLevel), [{ path: '/specs', message: 'unknown field' }]);

  const wrongType = fresh();
  wrongType.spec.template.spec.containers[0].ports = [{ name: 'metrics', containerPort: '9464' }];
  wrongType.spec.template.spec.containers[0].args = 'not a list';
  t.deepEqual(kubeSchemaProblems(wrongType).sort(byPath), [
    { path: '/spec/template/spec/containers/0/args', message: 'must be array' },
    { path: '/spec/template/spec/containers/0/ports/0/containerPort', message: 'must be integer' },
  ]);

  const missing = fresh();
  delete missing.spec.template.spec.containers[0].name;
  t.deepEqual(kubeSchemaProblems(missing), [
    { path: '/spec/template/spec/containers/0', message: 'must have required property name' },
  ]);

  t.throws(() => kubeSchemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget' }), {
    message: /no Kubernetes schema for apiVersion example\.com\/v1 kind Widget/,
  });
});
