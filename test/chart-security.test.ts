import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { Registry } from 'prom-client';
import { SECRETS, SECURE } from './helpers/chart-security-values.js';
import { CHART, ROOT, chartRenderer, one, podTemplates, renderChart, type K8sObject } from './helpers/chart.js';
import { tempDir } from './helpers/processes.js';
import { testEnvironment } from './helpers/environment.js';
import { makeTestPki } from './helpers/pki.js';
import { freePort, waitForPort } from './helpers/ports.js';
import { startNatsServer } from './helpers/nats-server.js';
import { startCoordinatorProcess } from './helpers/service-processes.js';
import { serveMetrics } from '../common/metrics/metrics-server.js';
import { agentNameProblem } from '../common/agent-name.js';
import { slipwayProto } from '../common/grpc/proto.js';
import { NodeCache } from '../node-cache/node-cache.js';
import { resolveNodeCacheConfig } from '../node-cache/config.js';
import { silentLogger } from '../common/log.js';
import { coordinatorConfigFromEnv, resolveCoordinatorConfig } from '../coordinator/config.js';
import { agentConfigFromEnv, resolveAgentConfig } from '../agent/config.js';

/**
 * The chart's security and day-2 values (docs/deploying.md, "Security and day-2 values"): gRPC
 * TLS, agent mutual TLS, NATS credentials, NetworkPolicies, the webhook Ingress, the Prometheus
 * Operator monitors, probes on every container, NOTES.txt and the `helm test` Pod, and the
 * combinations the chart refuses. Rendered with tools/chart-render and checked object by object;
 * the probe commands and the helm test's script are also run for real against the processes
 * they check (a coordinator with and without TLS, the agent's metrics server, a node cache).
 * Not proven here: that a cluster's CNI enforces the NetworkPolicies, that cert-manager and its
 * csi-driver issue what the objects ask for, that the kubelet runs the probes.
 */

const NATS = 'nats.url=nats://nats.nats-system.svc:4222';
const EXAMPLES = path.join(CHART, 'examples');

async function valuesFile(t: ExecutionContext, text: string): Promise<string> {
  const file = path.join(await tempDir(t, 'slipway-chart-security-'), 'values.yaml');
  await writeFile(file, text);
  return file;
}

async function render(t: ExecutionContext, text: string, set: string[] = []): Promise<K8sObject[]> {
  return (await renderChart({ values: [await valuesFile(t, text)], set })).objects;
}

type EnvVar = { name: string; value?: string; valueFrom?: Record<string, unknown> };
type Probe = {
  exec?: { command: string[] };
  httpGet?: { path: string; port: string | number };
  tcpSocket?: unknown;
  grpc?: unknown;
};
type Container = {
  name: string;
  env?: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  command?: string[];
};

function containers(spec: K8sObject['spec']): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers] as Container[];
}

function container(objects: K8sObject[], workload: string, name: string): Container {
  const kind = workload === 'coordinator' ? 'Deployment' : 'DaemonSet';
  const c = containers(one(objects, kind, `-${workload}`).spec.template.spec).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name} in ${workload}`);
  return c;
}

function envOf(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}

function volume(objects: K8sObject[], workload: string, name: string): Record<string, any> | undefined {
  const kind = workload === 'coordinator' ? 'Deployment' : 'DaemonSet';
  return (one(objects, kind, `-${workload}`).spec.template.spec.volumes as { name: string }[]).find(
    (v) => v.name === name,
  );
}

/** Runs a command as the kubelet's exec probe would (its exit code), from the repository (where /app would be). */
function runProbe(command: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const [bin, ...args] = command;
    const child = spawn(bin === 'node' ? process.execPath : bin!, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

test('gRPC TLS from cert-manager: a Certificate for the Service names, mounted by the coordinators; agents and the helm test trust its ca.crt; readiness moves to /healthz', async (t) => {
  const objects = await render(t, SECURE);
  const cert = one(objects, 'Certificate');
  t.is(cert.apiVersion, 'cert-manager.io/v1');
  t.deepEqual(cert.spec.issuerRef, { name: 'slipway-ca', kind: 'Issuer', group: 'cert-manager.io' });
  t.true(cert.spec.dnsNames.includes('slipway-coordinator.slipway-system.svc'), 'the name agents dial');
  t.true(cert.spec.usages.includes('server auth'));
  const coordinator = container(objects, 'coordinator', 'coordinator');
  t.is(envOf(coordinator, 'SLIPWAY_GRPC_TLS_CERT')?.value, '/etc/slipway/grpc-tls/tls.crt');
  t.is(envOf(coordinator, 'SLIPWAY_GRPC_TLS_KEY')?.value, '/etc/slipway/grpc-tls/tls.key');
  t.is(volume(objects, 'coordinator', 'grpc-tls')!.secret.secretName, cert.spec.secretName);
  t.true(coordinator.volumeMounts!.some((m) => m.name === 'grpc-tls' && m.readOnly === true));
  t.deepEqual(
    coordinator.readinessProbe!.httpGet,
    { path: '/healthz', port: 'http' },
    "the kubelet's gRPC probe has no TLS",
  );

  const agent = container(objects, 'agent', 'agent');
  t.is(envOf(agent, 'SLIPWAY_AGENT_TLS_CA')?.value, '/etc/slipway/grpc-ca/ca.crt');
  t.deepEqual(volume(objects, 'agent', 'grpc-ca')!.secret, {
    secretName: cert.spec.secretName,
    items: [{ key: 'ca.crt', path: 'ca.crt' }],
  });
  const testPod = one(objects, 'Pod', '-test-health');
  t.is(
    testPod.spec.containers[0].env.find((e: EnvVar) => e.name === 'SLIPWAY_CA').value,
    '/etc/slipway/grpc-ca/ca.crt',
  );
  t.deepEqual(testPod.spec.volumes[0].secret.secretName, cert.spec.secretName);

  // From an existing Secret, the CA from a ConfigMap: no Certificate.
  const secrets = await render(t, SECRETS);
  t.is(secrets.filter((o) => o.kind === 'Certificate').length, 0);
  t.is(volume(secrets, 'coordinator', 'grpc-tls')!.secret.secretName, 'slipway-grpc');
  t.deepEqual(volume(secrets, 'agent', 'grpc-ca')!.configMap, {
    name: 'slipway-grpc-ca',
    items: [{ key: 'ca.pem', path: 'ca.crt' }],
  });
  // Without TLS: plaintext, gRPC readiness, nothing mounted.
  const plain = (await renderChart({ set: [NATS] })).objects;
  t.is(envOf(container(plain, 'agent', 'agent'), 'SLIPWAY_AGENT_TLS_CA'), undefined);
  t.deepEqual(container(plain, 'coordinator', 'coordinator').readinessProbe!.grpc, { port: 7070 });
});

test('agent mTLS: AgentService on its own port with the client CA; each agent Pod gets a csi-driver certificate whose CN is its Pod name, which is its agent name', async (t) => {
  const objects = await render(t, SECURE);
  const coordinator = container(objects, 'coordinator', 'coordinator');
  t.is(envOf(coordinator, 'SLIPWAY_AGENT_GRPC_LISTEN')?.value, '0.0.0.0:7071');
  t.is(envOf(coordinator, 'SLIPWAY_GRPC_CLIENT_CA')?.value, '/etc/slipway/agent-ca/ca.crt');
  t.deepEqual(volume(objects, 'coordinator', 'agent-ca')!.secret, {
    secretName: 'slipway-agents-ca',
    items: [{ key: 'ca.crt', path: 'ca.crt' }],
  });
  t.true(coordinator.ports!.some((p) => p.name === 'agent-grpc' && p.containerPort === 7071));
  t.true(
    one(objects, 'Service', '-coordinator').spec.ports.some(
      (p: { name: string; port: number }) => p.name === 'agent-grpc' && p.port === 7071,
    ),
  );

  const agent = container(objects, 'agent', 'agent');
  t.is(envOf(agent, 'SLIPWAY_COORDINATOR_ADDR')?.value, 'slipway-coordinator.slipway-system.svc:7071');
  t.deepEqual(envOf(agent, 'SLIPWAY_AGENT_NAME')?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
  t.deepEqual(envOf(agent, 'SLIPWAY_NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  t.is(envOf(agent, 'SLIPWAY_AGENT_TLS_CERT')?.value, '/etc/slipway/agent-tls/tls.crt');
  t.is(envOf(agent, 'SLIPWAY_AGENT_TLS_KEY')?.value, '/etc/slipway/agent-tls/tls.key');
  const csi = volume(objects, 'agent', 'agent-tls')!.csi;
  t.is(csi.driver, 'csi.cert-manager.io');
  t.like(csi.volumeAttributes, {
    'csi.cert-manager.io/issuer-name': 'slipway-agents',
    'csi.cert-manager.io/issuer-kind': 'Issuer',
    'csi.cert-manager.io/common-name': '${POD_NAME}',
    'csi.cert-manager.io/fs-group': '65532',
    'csi.cert-manager.io/duration': '2160h',
  });
  t.true(csi.volumeAttributes['csi.cert-manager.io/key-usages'].includes('client auth'));
  // A DaemonSet Pod's name (NAME-xxxxx) is a valid agent name.
  t.is(agentNameProblem('slipway-agent-x7k2p'), undefined);

  // Host mode without the socket group runs the agent as root: the key needs no group.
  const root = await render(t, SECURE, ['agent.mode=host']);
  t.is(volume(root, 'agent', 'agent-tls')!.csi.volumeAttributes['csi.cert-manager.io/fs-group'], undefined);
  // Without mTLS the agent keeps its node's name and the main port.
  const tlsOnly = await render(t, SECRETS);
  const plainAgent = container(tlsOnly, 'agent', 'agent');
  t.deepEqual(envOf(plainAgent, 'SLIPWAY_AGENT_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  t.is(envOf(plainAgent, 'SLIPWAY_COORDINATOR_ADDR')?.value, 'slipway-coordinator.slipway-system.svc:7070');
  t.is(envOf(container(tlsOnly, 'coordinator', 'coordinator'), 'SLIPWAY_AGENT_GRPC_LISTEN'), undefined);
});

test('NATS credentials: user and password by secretKeyRef, or a creds file mounted read-only, per process; the NATS CA through NODE_EXTRA_CA_CERTS', async (t) => {
  const secrets = await render(t, SECRETS);
  for (const [workload, name, secret, keys] of [
    ['coordinator', 'coordinator', 'slipway-nats-coordinator', ['user', 'password']],
    ['agent', 'agent', 'slipway-nats-agent', ['name', 'secret']],
  ] as const) {
    const c = container(secrets, workload, name);
    t.deepEqual(envOf(c, 'SLIPWAY_NATS_USER')?.valueFrom, { secretKeyRef: { name: secret, key: keys[0] } });
    t.deepEqual(envOf(c, 'SLIPWAY_NATS_PASSWORD')?.valueFrom, { secretKeyRef: { name: secret, key: keys[1] } });
    t.is(envOf(c, 'SLIPWAY_NATS_CREDS'), undefined);
  }
  const creds = await render(t, SECURE);
  for (const [workload, secret] of [
    ['coordinator', 'slipway-nats-coordinator'],
    ['agent', 'slipway-nats-agent'],
  ] as const) {
    const c = container(creds, workload, workload);
    t.is(envOf(c, 'SLIPWAY_NATS_CREDS')?.value, '/etc/slipway/nats/nats.creds');
    t.is(envOf(c, 'SLIPWAY_NATS_USER'), undefined);
    t.true(c.volumeMounts!.some((m) => m.name === 'nats-creds' && m.mountPath === '/etc/slipway/nats' && m.readOnly));
    t.is(volume(creds, workload, 'nats-creds')!.secret.secretName, secret);
    t.is(envOf(c, 'NODE_EXTRA_CA_CERTS')?.value, '/etc/slipway/nats-ca/ca.crt');
    t.deepEqual(volume(creds, workload, 'nats-ca')!.configMap, {
      name: 'nats-ca',
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
  }
  // Secrets are referenced, never inlined: the chart makes no Secret.
  t.false([...secrets, ...creds].some((o) => o.kind === 'Secret'));
});

test('the NetworkPolicies let only what must talk to each port', async (t) => {
  const objects = await render(t, SECURE, [
    'kubeApi.enabled=true',
    'kubeApi.tls.existingSecret=slipway-serving',
    'kubeApi.requestheader.caConfigMap=slipway-requestheader',
    'kubeApi.apiService.insecureSkipTLSVerify=true',
  ]);
  const agents = { 'app.kubernetes.io/name': 'slipway', 'app.kubernetes.io/instance': 'slipway' };
  const coordinator = one(objects, 'NetworkPolicy', '-coordinator');
  t.deepEqual(coordinator.spec.policyTypes, ['Ingress'], 'egress open');
  const rule = (port: string) =>
    (coordinator.spec.ingress as { ports: { port: string }[]; from?: unknown[] }[]).filter((r) =>
      r.ports.some((p) => p.port === port),
    );
  t.deepEqual(rule('grpc')[0]!.from, [
    { podSelector: { matchLabels: { ...agents, 'app.kubernetes.io/component': 'agent' } } },
    { podSelector: { matchLabels: { ...agents, 'app.kubernetes.io/component': 'test' } } },
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ci' } } },
  ]);
  t.deepEqual(rule('agent-grpc')[0]!.from, [
    { podSelector: { matchLabels: { ...agents, 'app.kubernetes.io/component': 'agent' } } },
  ]);
  t.is(rule('kube-api')[0]!.from, undefined, 'the aggregator is not selectable: from anywhere');
  t.deepEqual(rule('http')[0]!.from, [
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
  ]);
  t.is(coordinator.spec.ingress.length, 4, 'no other port');
  // The selected Pods carry the labels the rules name.
  const testPod = one(objects, 'Pod', '-test-health');
  t.is(testPod.metadata.labels!['app.kubernetes.io/component'], 'test');
  t.like(one(objects, 'DaemonSet', '-agent').spec.template.metadata.labels, {
    ...agents,
    'app.kubernetes.io/component': 'agent',
  });

  const agent = one(objects, 'NetworkPolicy', '-agent');
  t.deepEqual(agent.spec.ingress, [
    {
      ports: [{ port: 'metrics' }],
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    },
  ]);
  t.deepEqual(agent.spec.policyTypes, ['Ingress']);
  // No metrics: agents accept nothing. Egress restricted only when asked.
  const egress = [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }];
  const closed = await render(
    t,
    `nats: { url: "nats://n:4222" }\nnetworkPolicy: { enabled: true, agentEgress: ${JSON.stringify(egress)} }\n`,
  );
  const closedAgent = one(closed, 'NetworkPolicy', '-agent');
  t.deepEqual(closedAgent.spec.ingress, []);
  t.deepEqual(closedAgent.spec.policyTypes, ['Ingress', 'Egress']);
  t.deepEqual(closedAgent.spec.egress, egress);
  const closedCoordinator = one(closed, 'NetworkPolicy', '-coordinator');
  t.deepEqual(
    closedCoordinator.spec.ingress.map((r: { ports: { port: string }[] }) => r.ports[0]!.port),
    ['grpc'],
    'no HTTP clients named: the HTTP port is closed',
  );
  t.is(
    (await renderChart({ set: [NATS] })).objects.filter((o) => o.kind === 'NetworkPolicy').length,
    0,
    'off by default',
  );
});

test('the webhook Ingress routes only /webhooks to the HTTP port; the ServiceMonitor and PodMonitor scrape /metrics', async (t) => {
  const objects = await render(t, SECURE);
  const ingress = one(objects, 'Ingress', '-webhooks');
  t.is(ingress.spec.ingressClassName, 'nginx');
  t.deepEqual(ingress.spec.tls, [{ secretName: 'slipway-webhooks-tls', hosts: ['slipway.example.com'] }]);
  t.deepEqual(ingress.spec.rules, [
    {
      host: 'slipway.example.com',
      http: {
        paths: [
          {
            path: '/webhooks',
            pathType: 'Prefix',
            backend: { service: { name: 'slipway-coordinator', port: { name: 'http' } } },
          },
        ],
      },
    },
  ]);
  // The coordinators serve their webhooks under that prefix.
  const webhooks = await readFile(path.join(ROOT, 'coordinator/triggers/webhooks.ts'), 'utf8');
  t.regex(webhooks, /http\.route\('POST', '\/webhooks\/:namespace\/:name\/github'/);
  t.true(one(objects, 'Service', '-coordinator').spec.ports.some((p: { name: string }) => p.name === 'http'));

  const sm = one(objects, 'ServiceMonitor');
  t.is(sm.apiVersion, 'monitoring.coreos.com/v1');
  t.is(sm.metadata.labels!.release, 'prometheus');
  t.deepEqual(sm.spec.endpoints, [{ port: 'http', path: '/metrics', interval: '30s' }]);
  t.deepEqual(sm.spec.selector.matchLabels, one(objects, 'Service', '-coordinator').spec.selector);
  const pm = one(objects, 'PodMonitor');
  t.deepEqual(pm.spec.podMetricsEndpoints, [{ port: 'metrics', path: '/metrics' }]);
  t.deepEqual(pm.spec.selector.matchLabels, one(objects, 'DaemonSet', '-agent').spec.selector.matchLabels);
  const defaults = (await renderChart({ set: [NATS] })).objects;
  t.false(defaults.some((o) => ['Ingress', 'ServiceMonitor', 'PodMonitor', 'Certificate'].includes(o.kind)));
});

test('every container of every rendering has readiness and liveness probes, and the slow starters a startup probe', async (t) => {
  const renderings: { name: string; objects: K8sObject[] }[] = [
    { name: 'defaults', objects: (await renderChart({ set: [NATS] })).objects },
    { name: 'host', objects: (await renderChart({ set: [NATS, 'agent.mode=host'] })).objects },
    {
      name: 'host+node-cache',
      objects: (await renderChart({ set: [NATS, 'agent.mode=host', 'nodeCache.enabled=true'] })).objects,
    },
    { name: 'secure', objects: await render(t, SECURE) },
    { name: 'secure host', objects: await render(t, SECURE, ['agent.mode=host']) },
    { name: 'secrets', objects: await render(t, SECRETS) },
  ];
  for (const file of ['dind.yaml', 'host.yaml', 'node-cache.yaml', 'production.yaml'])
    renderings.push({ name: file, objects: (await renderChart({ values: [path.join(EXAMPLES, file)] })).objects });
  let checked = 0;
  for (const { name, objects } of renderings) {
    for (const { workload, spec } of podTemplates(objects)) {
      for (const c of containers(spec)) {
        t.truthy(c.readinessProbe, `${name} ${workload}/${c.name}: readinessProbe`);
        t.truthy(c.livenessProbe, `${name} ${workload}/${c.name}: livenessProbe`);
        // The node cache as the agent's sidecar has none: a startupProbe would hold the daemon
        // and the agent back while the upstream it caches is unreachable.
        const sidecarCache = c.name === 'node-cache' && workload.endsWith('-agent');
        if (['coordinator', 'dind', 'node-cache'].includes(c.name))
          t.is(Boolean(c.startupProbe), !sidecarCache, `${name} ${workload}/${c.name}: startupProbe`);
        checked++;
      }
    }
  }
  t.true(checked >= 25, `${checked} containers`);
  // What each probe asks. The node cache and a metrics-less agent listen on loopback only,
  // which the kubelet's httpGet (to the Pod's IP) cannot reach: exec, inside the container.
  const secure = await render(t, SECURE);
  t.deepEqual(container(secure, 'agent', 'agent').livenessProbe!.httpGet, { path: '/healthz', port: 'metrics' });
  const quiet = (await renderChart({ set: [NATS, 'nodeCache.enabled=true'] })).objects;
  const agent = container(quiet, 'agent', 'agent');
  t.is(envOf(agent, 'SLIPWAY_METRICS_ADDR')?.value, '127.0.0.1:9464', 'metrics off: loopback only');
  t.true(agent.livenessProbe!.exec!.command.join(' ').includes('http://127.0.0.1:9464/healthz'));
  t.true(
    container(quiet, 'agent', 'node-cache').readinessProbe!.exec!.command.join(' ').includes('127.0.0.1:5001/v2/'),
  );
  t.deepEqual(container(quiet, 'agent', 'dind').livenessProbe!.exec!.command, [
    'docker',
    '-H',
    'unix:///run/slipway-dind/docker.sock',
    'version',
  ]);
});

test("the agent's and the node cache's exec probes pass while the process serves and fail once it is gone", async (t) => {
  // The agent's: its metrics server's /healthz, on the port the chart gives it.
  const port = await freePort();
  const objects = (await renderChart({ set: [NATS, `agent.metrics.port=${port}`, 'nodeCache.enabled=true'] })).objects;
  const agentProbe = container(objects, 'agent', 'agent').livenessProbe!.exec!.command;
  t.is((await runProbe(agentProbe)).code, 1, 'nothing listens yet');
  const server = await serveMetrics(new Registry(), `127.0.0.1:${port}`);
  t.is((await runProbe(agentProbe)).code, 0, 'the agent answers /healthz');
  await server.close();
  t.is((await runProbe(agentProbe)).code, 1);

  // The node cache's: its mirror's /v2/, served by the front and the registry behind it.
  const cachePort = await freePort();
  const cacheObjects = (await renderChart({ set: [NATS, 'nodeCache.enabled=true', `nodeCache.port=${cachePort}`] }))
    .objects;
  const cacheProbe = container(cacheObjects, 'agent', 'node-cache').readinessProbe!.exec!.command;
  t.is((await runProbe(cacheProbe)).code, 1);
  const cache = await NodeCache.start(
    resolveNodeCacheConfig({
      upstream: `http://${testEnvironment().registry}`,
      listen: `127.0.0.1:${cachePort}`,
      root: await tempDir(t, 'slipway-node-cache-'),
      sweepIntervalMs: 0,
      registryBinary: 'docker-registry',
    }),
    { log: silentLogger },
  );
  t.teardown(() => cache.stop());
  t.is((await runProbe(cacheProbe)).code, 0, (await runProbe(cacheProbe)).output);
  await cache.stop();
  t.is((await runProbe(cacheProbe)).code, 1);
});

test('the helm test Pod asks the coordinator for its health over TLS with the CA it mounts, and fails against a certificate it does not trust', async (t) => {
  const objects = await render(t, SECURE);
  const pod = one(objects, 'Pod', '-test-health');
  t.is((pod.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook'], 'test');
  t.is(pod.spec.restartPolicy, 'Never');
  const c = pod.spec.containers[0] as Container;
  t.is(envOf(c, 'SLIPWAY_ADDR')?.value, 'slipway-coordinator.slipway-system.svc:7070');

  const pki = await makeTestPki(t, { other: 'someone-else' });
  const nats = await startNatsServer(t);
  const grpcPort = await freePort();
  await startCoordinatorProcess(t, {
    natsUrl: nats.url,
    port: grpcPort,
    env: { SLIPWAY_GRPC_TLS_CERT: pki.serverCert, SLIPWAY_GRPC_TLS_KEY: pki.serverKey },
  });
  const addr = `127.0.0.1:${grpcPort}`;
  const ok = await runProbe(c.command!, { SLIPWAY_ADDR: addr, SLIPWAY_CA: pki.serverCert });
  t.is(ok.code, 0, ok.output);
  t.regex(ok.output, /SERVING/);
  const untrusted = await runProbe(c.command!, {
    SLIPWAY_ADDR: addr,
    SLIPWAY_CA: pki.caCert('other'),
    SLIPWAY_TEST_WAIT_MS: '1500',
  });
  t.is(untrusted.code, 1);
  t.regex(untrusted.output, /is not serving: 14 /, 'UNAVAILABLE: the handshake fails');

  // Plaintext, as rendered without grpcTls.
  const plainPod = one((await renderChart({ set: [NATS] })).objects, 'Pod', '-test-health');
  t.is(plainPod.spec.volumes, undefined);
  const plainPort = await freePort();
  await startCoordinatorProcess(t, { natsUrl: nats.url, port: plainPort });
  const plain = await runProbe(plainPod.spec.containers[0].command, { SLIPWAY_ADDR: `127.0.0.1:${plainPort}` });
  t.is(plain.code, 0, plain.output);
});

test('NOTES.txt says what was installed and how to verify it, with the APIService warning when the Kubernetes API is on', async (t) => {
  const bin = await chartRenderer();
  const notes = (values: string, set: string[]) =>
    new Promise<string>((resolve, reject) => {
      const args = ['--notes', '--name', 'slipway', '--namespace', 'slipway-system', '-f', values];
      for (const s of set) args.push('--set', s);
      const child = spawn(bin, [...args, CHART], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
    });
  const secure = await notes(await valuesFile(t, SECURE), []);
  t.regex(secure, /helm test slipway -n slipway-system/);
  t.regex(secure, /kubectl -n slipway-system rollout status daemonset\/slipway-agent/);
  t.regex(secure, /agents 7071, mutual TLS/);
  t.regex(secure, /Ingress slipway-webhooks/);
  t.notRegex(secure, /plaintext/);
  const api = await notes(path.join(EXAMPLES, 'production.yaml'), []);
  t.regex(api, /kubectl get apiservice v1\.build\.slipway\.dev/);
  t.regex(api, /API discovery fails/);
  const plain = await notes(await valuesFile(t, `nats: { url: "nats://n:4222" }\n`), []);
  t.regex(plain, /gRPC is plaintext and needs no token/);
});

test('the chart refuses combinations that cannot work, naming the values', async (t) => {
  const fails = async (set: string[], message: RegExp, values = `nats: { url: "nats://n:4222" }\n`) => {
    const err = await t.throwsAsync(renderChart({ values: [await valuesFile(t, values)], set }));
    t.regex(err!.message, message);
  };
  const api = ['kubeApi.enabled=true', 'kubeApi.apiService.insecureSkipTLSVerify=true'];
  await fails(
    [...api, 'kubeApi.auth=tokens', 'apiTokens.existingSecret=tokens'],
    /kubeApi\.tls\.existingSecret is required with kubeApi\.enabled \(auth=tokens\): the aggregator reaches .* over HTTPS only/,
  );
  await fails(
    ['grpcTls.enabled=true'],
    /grpcTls\.enabled needs a certificate: grpcTls\.existingSecret .* or grpcTls\.certManager\.issuerRef\.name/,
  );
  await fails(['grpcTls.enabled=true', 'grpcTls.existingSecret=s', 'grpcTls.certManager.issuerRef.name=i'], /not both/);
  await fails(
    ['grpcTls.enabled=true', 'grpcTls.existingSecret=s', 'coordinator.httpPort=null'],
    /coordinator\.httpPort is required with grpcTls\.enabled/,
  );
  await fails(['agentMtls.enabled=true'], /agentMtls\.enabled needs grpcTls\.enabled/);
  const tls = ['grpcTls.enabled=true', 'grpcTls.existingSecret=s', 'agentMtls.enabled=true'];
  await fails(tls, /agentMtls\.csi\.issuerRef\.name is required/);
  await fails(
    [...tls, 'agentMtls.csi.issuerRef.name=i'],
    /agentMtls\.clientCA\.existingSecret or \.existingConfigMap is required/,
  );
  await fails(
    [...tls, 'agentMtls.csi.issuerRef.name=i', 'agentMtls.clientCA.existingSecret=ca', 'agentMtls.port=7070'],
    /agentMtls\.port \(7070\) must differ/,
  );
  await fails(
    ['natsAuth.agent.existingSecret=a'],
    /natsAuth\.agent\.existingSecret and nats\.urlSecret\.name both give NATS credentials/,
    `nats: { urlSecret: { name: u } }\n`,
  );
  await fails(
    ['webhookIngress.enabled=true', 'webhookIngress.hosts=[a.example]', 'coordinator.httpPort=null'],
    /webhookIngress\.enabled needs coordinator\.httpPort/,
  );
  await fails(['webhookIngress.enabled=true'], /webhookIngress\.hosts is required/);
  await fails(
    ['monitoring.serviceMonitor.enabled=true', 'coordinator.httpPort=null'],
    /serviceMonitor\.enabled needs coordinator\.httpPort/,
  );
  await fails(['monitoring.podMonitor.enabled=true'], /podMonitor\.enabled needs agent\.metrics\.enabled/);
});

test('values.schema.json accepts the security values and refuses bad ones; every SLIPWAY_* variable they set is in the settings reference', async (t) => {
  const schema = JSON.parse(await readFile(path.join(CHART, 'values.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  for (const text of [SECURE, SECRETS]) t.true(validate(parse(text)), JSON.stringify(validate.errors));
  t.false(validate({ natsAuth: { agent: { type: 'token' } } }));
  t.false(validate({ grpcTls: { certManager: { issuerRef: { kind: 'Something' } } } }));
  t.false(validate({ agentMtls: { port: 0 } }));
  t.false(validate({ monitoring: { serviceMonitor: { interval: 'often' } } }));

  const named = new Set((await readFile(path.join(ROOT, 'docs/settings.md'), 'utf8')).match(/SLIPWAY_[A-Z_]+/g));
  const seen = new Set<string>();
  for (const objects of [await render(t, SECURE), await render(t, SECRETS)])
    for (const { spec } of podTemplates(objects))
      for (const c of containers(spec))
        for (const e of c.env ?? []) if (e.name.startsWith('SLIPWAY_')) seen.add(e.name);
  for (const name of ['SLIPWAY_GRPC_CLIENT_CA', 'SLIPWAY_AGENT_GRPC_LISTEN', 'SLIPWAY_NATS_CREDS', 'SLIPWAY_NATS_USER'])
    t.true(seen.has(name), name);
  t.deepEqual(
    [...seen].filter((n) => !named.has(n)),
    [],
  );
});

test("the settings each rendering gives the coordinator and the agent pass the processes' own checks", async (t) => {
  // Values from Secrets and the downward API stand in as placeholders. A file the chart names
  // must lie in a volume the container mounts; it is made under a temp folder for the check.
  const root = await tempDir(t, 'slipway-chart-files-');
  const envMap = async (c: Container) => {
    const out: Record<string, string> = {};
    for (const e of c.env ?? []) {
      let value = e.value ?? (e.name.endsWith('_NAME') ? 'node-1' : 'secret');
      if (value.startsWith('/etc/slipway/')) {
        t.true(
          c.volumeMounts!.some((m) => value.startsWith(`${m.mountPath}/`)),
          `${c.name}: ${e.name}=${value} is in a mounted volume`,
        );
        const local = path.join(root, value);
        await mkdir(path.dirname(local), { recursive: true });
        await writeFile(local, '');
        value = local;
      }
      out[e.name] = value;
    }
    return out;
  };
  const renderings = [await render(t, SECURE), await render(t, SECURE, ['agent.mode=host']), await render(t, SECRETS)];
  for (const objects of renderings) {
    const coordinator = await envMap(container(objects, 'coordinator', 'coordinator'));
    t.notThrows(() => resolveCoordinatorConfig(coordinatorConfigFromEnv(coordinator)), JSON.stringify(coordinator));
    const agent = await envMap(container(objects, 'agent', 'agent'));
    t.notThrows(() => resolveAgentConfig(agentConfigFromEnv(agent)), JSON.stringify(agent));
  }
  // And the agent's name the chart gives with mTLS is what the csi-driver puts in the CN.
  const secure = renderings[0]!;
  t.deepEqual(envOf(container(secure, 'agent', 'agent'), 'SLIPWAY_AGENT_NAME')?.valueFrom, {
    fieldRef: { fieldPath: 'metadata.name' },
  });
});

test('with agentMtls, a coordinator given the rendered TLS settings takes an agent whose certificate carries only CN = its Pod name (as the csi-driver issues it), reporting under that name and no other', async (t) => {
  const objects = await render(t, SECURE);
  const coordinator = container(objects, 'coordinator', 'coordinator');
  const agent = container(objects, 'agent', 'agent');
  const pki = await makeTestPki(t, { agents: 'slipway-agents-ca' });
  const pod = 'slipway-agent-x7k2p';
  const [podCert, podKey] = await pki.client('pod', pod, 'agents'); // no SAN: CN only
  // The files the chart mounts, here the test's; the listen addresses on loopback.
  const files: Record<string, string> = {
    '/etc/slipway/grpc-tls/tls.crt': pki.serverCert,
    '/etc/slipway/grpc-tls/tls.key': pki.serverKey,
    '/etc/slipway/agent-ca/ca.crt': pki.caCert('agents'),
    '/etc/slipway/grpc-ca/ca.crt': pki.serverCert,
    '/etc/slipway/agent-tls/tls.crt': podCert,
    '/etc/slipway/agent-tls/tls.key': podKey,
  };
  const agentPort = await freePort();
  const env: Record<string, string> = {};
  for (const name of ['SLIPWAY_GRPC_TLS_CERT', 'SLIPWAY_GRPC_TLS_KEY', 'SLIPWAY_GRPC_CLIENT_CA']) {
    const value = envOf(coordinator, name)!.value!;
    t.truthy(files[value], `${name}=${value}`);
    env[name] = files[value]!;
  }
  t.is(envOf(coordinator, 'SLIPWAY_AGENT_GRPC_LISTEN')?.value, '0.0.0.0:7071');
  env.SLIPWAY_AGENT_GRPC_LISTEN = `127.0.0.1:${agentPort}`;
  const nats = await startNatsServer(t);
  await startCoordinatorProcess(t, { natsUrl: nats.url, port: await freePort(), env });
  await waitForPort(agentPort);

  const read = (name: string) => readFile(files[envOf(agent, name)!.value!]!);
  const client = new (slipwayProto().slipway.v1.AgentService)(
    `127.0.0.1:${agentPort}`,
    grpc.credentials.createSsl(
      await read('SLIPWAY_AGENT_TLS_CA'),
      await read('SLIPWAY_AGENT_TLS_KEY'),
      await read('SLIPWAY_AGENT_TLS_CERT'),
    ),
  );
  t.teardown(() => client.close());
  const heartbeat = (name: string) =>
    new Promise<string>((resolve) =>
      client.Heartbeat(
        { agent: name, node: 'node-1', instance: 'r1', running: [] },
        { deadline: new Date(Date.now() + 5000) },
        (err) => resolve(err ? (grpc.status[err.code] ?? String(err)) : 'OK'),
      ),
    );
  t.is(await heartbeat(pod), 'OK', 'the Pod name the chart gives as SLIPWAY_AGENT_NAME');
  t.is(await heartbeat('node-1'), 'PERMISSION_DENIED', "the node's name, which the certificate does not carry");
});
