import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { Ajv } from 'ajv';
import { isMap, isPair, isScalar, parse, parseDocument, type Pair } from 'yaml';
import { CHART, ROOT, one, podTemplates, renderChart, type K8sObject } from './helpers/chart.js';
import { tempDir } from './helpers/processes.js';

/**
 * The Helm chart (charts/slipway), rendered as helm would (tools/chart-render: text/template and
 * sprig) for its defaults, host mode, dind mode and every example values file, and checked where
 * it matters: the Docker socket only in host mode, the dind sidecar the only privileged
 * container, resources and non-root users everywhere they can be, RBAC no wider than the code
 * needs, a PodDisruptionBudget for the coordinators, the APIService with the Kubernetes API, and
 * values.schema.json against every values file.
 */

const EXAMPLES = path.join(CHART, 'examples');
const NATS = 'nats.url=nats://nats.nats-system.svc:4222';

async function exampleFiles(): Promise<string[]> {
  return (await readdir(EXAMPLES))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(EXAMPLES, f));
}

/** Every way the chart is rendered here: defaults (with a NATS URL), both modes, each example. */
async function renderings(): Promise<{ name: string; objects: K8sObject[] }[]> {
  const out = [
    { name: 'defaults', objects: (await renderChart({ set: [NATS] })).objects },
    { name: 'host', objects: (await renderChart({ set: [NATS, 'agent.mode=host'] })).objects },
    {
      name: 'host+node-cache',
      objects: (await renderChart({ set: [NATS, 'agent.mode=host', 'nodeCache.enabled=true'] })).objects,
    },
  ];
  for (const file of await exampleFiles()) {
    out.push({
      name: path.basename(file),
      objects: (await renderChart({ values: [file] })).objects,
    });
  }
  return out;
}

type Container = {
  name: string;
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
  args?: string[];
};

function containers(spec: K8sObject['spec']): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers] as Container[];
}

function env(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

function agentPod(objects: K8sObject[]): K8sObject['spec'] {
  return one(objects, 'DaemonSet', '-agent').spec.template.spec;
}

function hostPathVolumes(spec: K8sObject['spec']): { name: string; hostPath: { path: string } }[] {
  return (spec.volumes ?? []).filter((v: { hostPath?: unknown }) => v.hostPath !== undefined);
}

test('the chart renders for its defaults, host mode, dind mode and every example', async (t) => {
  const all = await renderings();
  t.true(all.length >= 7);
  for (const { name, objects } of all) {
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ['Deployment', 'Service', 'DaemonSet', 'ServiceAccount'])
      t.true(kinds.has(kind), `${name}: has a ${kind}`);
    for (const o of objects)
      t.truthy(o.apiVersion && o.kind && o.metadata?.name, `${name}: ${o.kind} ${o.metadata?.name} is complete`);
  }
});

test('host mode mounts the node Docker socket into the agent; dind mode mounts nothing from the node', async (t) => {
  const host = agentPod((await renderChart({ set: [NATS, 'agent.mode=host'] })).objects);
  const socket = hostPathVolumes(host).find((v) => v.hostPath.path === '/var/run/docker.sock');
  t.truthy(socket, 'host mode has the socket volume');
  const agent = containers(host).find((c) => c.name === 'agent')!;
  t.true(
    agent.volumeMounts!.some((m) => m.name === socket!.name),
    'the agent mounts it',
  );
  t.is(env(agent, 'SLIPWAY_DOCKER_HOST'), 'unix:///var/run/docker.sock');
  t.is(env(agent, 'SLIPWAY_EXECUTOR'), 'host');

  for (const rendering of [
    { set: [NATS] },
    { values: [path.join(EXAMPLES, 'dind.yaml')] },
    { values: [path.join(EXAMPLES, 'production.yaml')] },
  ]) {
    const dind = agentPod((await renderChart(rendering)).objects);
    t.deepEqual(hostPathVolumes(dind), [], 'dind mode has no hostPath volume');
    const dindAgent = containers(dind).find((c) => c.name === 'agent')!;
    t.is(env(dindAgent, 'SLIPWAY_DOCKER_HOST'), 'unix:///run/slipway-dind/docker.sock');
    const sidecar = containers(dind).find((c) => c.name === 'dind')!;
    t.true(sidecar.args!.includes('--host=unix:///run/slipway-dind/docker.sock'));
    const socketVolume = (dind.volumes as { name: string; emptyDir?: unknown }[]).find((v) => v.name === 'dind-socket');
    t.truthy(socketVolume?.emptyDir, 'the socket is shared through an emptyDir');
    for (const c of [dindAgent, sidecar])
      t.true(
        c.volumeMounts!.some((m) => m.name === 'dind-socket' && m.mountPath === '/run/slipway-dind'),
        `${c.name} mounts the socket`,
      );
  }
  // No other workload mounts anything from the node either.
  for (const { name, objects } of await renderings()) {
    for (const { workload, spec } of podTemplates(objects)) {
      const paths = hostPathVolumes(spec).map((v) => v.hostPath.path);
      const hostAgent =
        workload.endsWith('-agent') &&
        spec.containers.some((c: Container) => env(c, 'SLIPWAY_DOCKER_HOST') === 'unix:///var/run/docker.sock');
      if (hostAgent)
        t.true(
          paths.every((p) => p === '/var/run/docker.sock' || p === '/var/lib/docker'),
          `${name} ${workload}: ${paths}`,
        );
      else t.deepEqual(paths, [], `${name} ${workload} mounts nothing from the node`);
    }
  }
});

test('the dind sidecar is the only privileged container, and only in dind mode', async (t) => {
  for (const { name, objects } of await renderings()) {
    const privileged: string[] = [];
    for (const { workload, spec } of podTemplates(objects)) {
      t.not(spec.hostPID, true, `${name} ${workload}: no hostPID`);
      for (const c of containers(spec)) {
        const sc = c.securityContext ?? {};
        if (sc.privileged === true) privileged.push(`${workload}/${c.name}`);
        else
          t.false(
            ((sc.capabilities as { add?: string[] } | undefined)?.add?.length ?? 0) > 0,
            `${name} ${workload}/${c.name} adds no capabilities`,
          );
      }
    }
    const dind = containers(agentPod(objects)).some((c: Container) => c.name === 'dind');
    t.deepEqual(privileged, dind ? ['DaemonSet/slipway-agent/dind'] : [], name);
  }
});

test("the dind sidecar's builds run in a user namespace unless agent.dind.usernsRemap is false", async (t) => {
  const sidecarArgs = async (set: string[]) =>
    containers(agentPod((await renderChart({ set: [NATS, ...set] })).objects)).find((c) => c.name === 'dind')!.args!;
  t.true((await sidecarArgs([])).includes('--userns-remap=default'), 'by default');
  t.false((await sidecarArgs(['agent.dind.usernsRemap=false'])).includes('--userns-remap=default'), 'false');
  for (const file of await exampleFiles()) {
    const dind = containers(agentPod((await renderChart({ values: [file] })).objects)).find((c) => c.name === 'dind');
    if (dind) t.true(dind.args!.includes('--userns-remap=default'), path.basename(file));
  }
});

test('every container has requests and limits of cpu and memory', async (t) => {
  for (const { name, objects } of await renderings()) {
    for (const { workload, spec } of podTemplates(objects)) {
      for (const c of containers(spec)) {
        for (const kind of ['requests', 'limits'] as const) {
          for (const r of ['cpu', 'memory'])
            t.truthy(c.resources?.[kind]?.[r], `${name} ${workload}/${c.name}: resources.${kind}.${r}`);
        }
      }
    }
  }
});

test('every container runs as non-root except the dind sidecar and a host-mode agent without the socket group', async (t) => {
  for (const { name, objects } of await renderings()) {
    for (const { workload, spec } of podTemplates(objects)) {
      for (const c of containers(spec)) {
        const nonRoot = c.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
        const user = c.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
        const hostAgent = c.name === 'agent' && env(c, 'SLIPWAY_DOCKER_HOST') === 'unix:///var/run/docker.sock';
        if (c.name === 'dind') continue;
        if (hostAgent && spec.securityContext?.supplementalGroups === undefined) {
          // Root reaches the root:docker 0660 socket as its owner; still no capabilities.
          t.is(user, 0, `${name} ${workload}/${c.name}`);
          t.deepEqual((c.securityContext!.capabilities as { drop: string[] }).drop, ['ALL']);
          continue;
        }
        t.is(nonRoot, true, `${name} ${workload}/${c.name}: runAsNonRoot`);
        t.not(user, 0, `${name} ${workload}/${c.name}: not uid 0`);
        t.is(
          c.securityContext?.allowPrivilegeEscalation,
          false,
          `${name} ${workload}/${c.name}: no privilege escalation`,
        );
      }
    }
  }
  // With the docker group's gid, the host-mode agent is non-root, in that group.
  const host = agentPod((await renderChart({ values: [path.join(EXAMPLES, 'host.yaml')] })).objects);
  const agent = containers(host).find((c) => c.name === 'agent')!;
  t.is(agent.securityContext!.runAsNonRoot, true);
  t.deepEqual(host.securityContext.supplementalGroups, [999]);
  // Without it, the agent is root: the one exception, said in values.yaml.
  const rootHost = agentPod((await renderChart({ set: [NATS, 'agent.mode=host'] })).objects);
  t.is(containers(rootHost).find((c) => c.name === 'agent')!.securityContext!.runAsUser, 0);
});

/** The rules every Slipway service account gets, through every binding: "Kind/name" → rules. */
function grants(objects: K8sObject[]): Map<string, unknown[]> {
  const roles = new Map(
    objects
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .map((o) => [`${o.kind}/${o.metadata.name}`, o.rules as unknown[]]),
  );
  const out = new Map<string, unknown[]>();
  for (const b of objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    for (const s of b.subjects as { kind: string; name: string }[]) {
      const key = `${s.kind}/${s.name}`;
      const ref = `${b.roleRef.kind}/${b.roleRef.name}`;
      // Built-in roles are named by reference; their rules are the cluster's.
      out.set(key, [...(out.get(key) ?? []), ...(roles.get(ref) ?? [`builtin ${ref}`])]);
    }
  }
  return out;
}

test('RBAC grants the agent get/list/watch on nodes and the coordinator system:auth-delegator, nothing else', async (t) => {
  const nodes = { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] };
  const delegated = (await renderChart({ values: [path.join(EXAMPLES, 'production.yaml')] })).objects;
  t.deepEqual(Object.fromEntries(grants(delegated)), {
    'ServiceAccount/slipway-agent': [nodes],
    'ServiceAccount/slipway-coordinator': ['builtin ClusterRole/system:auth-delegator'],
  });
  const plain = (await renderChart({ set: [NATS] })).objects;
  t.deepEqual(Object.fromEntries(grants(plain)), { 'ServiceAccount/slipway-agent': [nodes] });
  t.is(
    one(plain, 'ServiceAccount', '-coordinator').automountServiceAccountToken,
    false,
    'no API token where no API is called',
  );
  const noNode = (await renderChart({ set: [NATS, 'agent.kubeNode=false'] })).objects;
  t.deepEqual(Object.fromEntries(grants(noNode)), {});
  t.is(one(noNode, 'ServiceAccount', '-agent').automountServiceAccountToken, false);
  // The authentication reader binding only when asked for.
  const reader = (
    await renderChart({
      values: [path.join(EXAMPLES, 'production.yaml')],
      set: ['kubeApi.authenticationReaderBinding=true'],
    })
  ).objects;
  t.is(one(reader, 'RoleBinding').metadata.namespace, 'kube-system');
  t.is(one(reader, 'RoleBinding').roleRef.name, 'extension-apiserver-authentication-reader');

  // No rule anywhere has a wildcard; the user-facing aggregated roles are exactly view and edit.
  for (const { name, objects } of await renderings()) {
    for (const role of objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      for (const rule of role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
        for (const field of [rule.apiGroups, rule.resources, rule.verbs])
          t.false(field.includes('*'), `${name} ${role.metadata.name}: no *`);
      }
    }
  }
  t.deepEqual(one(delegated, 'ClusterRole', ':view').rules, [
    {
      apiGroups: ['build.slipway.dev'],
      resources: ['buildconfigs', 'builds', 'builds/log'],
      verbs: ['get', 'list', 'watch'],
    },
  ]);
  t.deepEqual(one(delegated, 'ClusterRole', ':edit').rules, [
    {
      apiGroups: ['build.slipway.dev'],
      resources: ['buildconfigs', 'builds'],
      verbs: ['create', 'update', 'patch', 'delete'],
    },
    { apiGroups: ['build.slipway.dev'], resources: ['buildconfigs/instantiate'], verbs: ['create'] },
  ]);
});

test('coordinators: two by default, spread, with a PodDisruptionBudget; none with one replica', async (t) => {
  const objects = (await renderChart({ set: [NATS] })).objects;
  const deployment = one(objects, 'Deployment', '-coordinator');
  t.true(deployment.spec.replicas >= 2);
  const pdb = one(objects, 'PodDisruptionBudget');
  t.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
  t.deepEqual(
    deployment.spec.template.metadata.labels,
    { ...deployment.spec.template.metadata.labels, ...pdb.spec.selector.matchLabels },
    'the PDB selects the coordinators',
  );
  t.is(pdb.spec.maxUnavailable, 1);
  t.truthy(deployment.spec.template.spec.affinity.podAntiAffinity);
  const coordinator = deployment.spec.template.spec.containers[0] as Container;
  t.is(env(coordinator, 'SLIPWAY_GRPC_LISTEN'), '0.0.0.0:7070');
  t.deepEqual(
    deployment.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'SLIPWAY_COORDINATOR_ID')
      .valueFrom,
    { fieldRef: { fieldPath: 'metadata.name' } },
  );
  const single = (await renderChart({ set: [NATS, 'coordinator.replicas=1'] })).objects;
  t.is(single.filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
  const production = (await renderChart({ values: [path.join(EXAMPLES, 'production.yaml')] })).objects;
  t.is(one(production, 'Deployment').spec.replicas, 3);
  t.is(one(production, 'Deployment').spec.template.spec.priorityClassName, 'system-cluster-critical');
  t.is(agentPod(production).priorityClassName, 'system-node-critical');
  t.deepEqual(agentPod(production).nodeSelector, { 'slipway.dev/builder': 'true' });
  t.is(agentPod(production).tolerations[0].key, 'slipway.dev/builder');
  t.is(agentPod(production).terminationGracePeriodSeconds, 315, 'drain time plus 15 s');
});

test('the APIService, its Service port and the Kubernetes API settings are there exactly when kubeApi is enabled', async (t) => {
  for (const { name, objects } of await renderings()) {
    const coordinator = one(objects, 'Deployment', '-coordinator').spec.template.spec.containers[0] as Container;
    const enabled = env(coordinator, 'SLIPWAY_KUBE_API_LISTEN') !== undefined;
    t.is(objects.filter((o) => o.kind === 'APIService').length, enabled ? 1 : 0, name);
    t.is(
      one(objects, 'Service', '-coordinator').spec.ports.some((p: { name: string }) => p.name === 'kube-api'),
      enabled,
      name,
    );
  }
  const objects = (await renderChart({ values: [path.join(EXAMPLES, 'production.yaml')] })).objects;
  const api = one(objects, 'APIService');
  t.is(api.metadata.name, 'v1.build.slipway.dev');
  t.deepEqual(api.spec.service, { name: 'slipway-coordinator', namespace: 'slipway-system', port: 443 });
  t.truthy(api.spec.caBundle);
  const pod = one(objects, 'Deployment').spec.template.spec;
  const c = pod.containers[0] as Container;
  t.is(env(c, 'SLIPWAY_KUBE_API_AUTH'), 'delegated');
  t.is(env(c, 'SLIPWAY_KUBE_API_TLS_CERT'), '/etc/slipway/serving/tls.crt');
  t.is(env(c, 'SLIPWAY_KUBE_API_REQUESTHEADER_ALLOWED_NAMES'), 'front-proxy-client');
  t.deepEqual(pod.containers[0].readinessProbe.grpc, { port: 7070 }, 'readiness is the gRPC health service');
  t.true(pod.volumes.some((v: { secret?: { secretName: string } }) => v.secret?.secretName === 'slipway-serving'));
  // Secrets are referenced, never inlined.
  t.deepEqual(pod.containers[0].env.find((e: { name: string }) => e.name === 'SLIPWAY_SECRET_KEY').valueFrom, {
    secretKeyRef: { name: 'slipway-secret-key', key: 'secret-key' },
  });
  t.deepEqual(pod.containers[0].env.find((e: { name: string }) => e.name === 'SLIPWAY_NATS_URL').valueFrom, {
    secretKeyRef: { name: 'slipway-nats', key: 'url' },
  });
  t.false(
    objects.some((o) => o.kind === 'Secret'),
    'the chart makes no Secret',
  );
});

test('dind mode is the default, and its daemon and node cache are native sidecars: up before the agent, stopped after it', async (t) => {
  const pod = agentPod((await renderChart({ values: [path.join(EXAMPLES, 'node-cache.yaml')] })).objects);
  t.deepEqual(
    (pod.initContainers as { name: string; restartPolicy?: string }[]).map((c) => [c.name, c.restartPolicy]),
    [
      ['node-cache', 'Always'],
      ['dind', 'Always'],
    ],
    'sidecars in start order (the kubelet stops them in reverse, after the main containers)',
  );
  t.deepEqual(
    pod.containers.map((c: Container) => c.name),
    ['agent'],
  );
  const dind = (pod.initContainers as { name: string; startupProbe?: { exec: { command: string[] } } }[]).find(
    (c) => c.name === 'dind',
  )!;
  t.deepEqual(
    dind.startupProbe?.exec.command,
    ['docker', '-H', 'unix:///run/slipway-dind/docker.sock', 'version'],
    'the agent starts once the daemon answers',
  );
  const defaults = agentPod((await renderChart({ set: [NATS] })).objects);
  t.true(
    containers(defaults).some((c) => c.name === 'dind'),
    'dind is the default mode',
  );
  t.deepEqual(
    hostPathVolumes(defaults),
    [],
    'the default mounts nothing from the node (containerd nodes have no docker.sock)',
  );
  const chart = parse(await readFile(path.join(CHART, 'Chart.yaml'), 'utf8')) as { kubeVersion: string };
  t.is(chart.kubeVersion, '>=1.29.0-0', 'native sidecars are on by default from 1.29');
});

test("dind mode: GC treats the sidecar's daemon as Slipway's own and measures percentages against its volume's size limit", async (t) => {
  const agentOf = async (set: string[]) =>
    containers(agentPod((await renderChart({ set: [NATS, ...set] })).objects)).find((c) => c.name === 'agent')!;
  const dind = await agentOf(['agent.dind.storageSizeLimit=30Gi']);
  t.is(env(dind, 'SLIPWAY_DOCKER_PRIVATE'), 'true');
  t.is(env(dind, 'SLIPWAY_GC_CAPACITY'), '30Gi');
  t.is(env(dind, 'SLIPWAY_GC_FILESYSTEM'), undefined, "the emptyDir's statfs is the node's disk");
  t.false(
    dind.volumeMounts!.some((m) => m.mountPath === '/var/lib/docker'),
    'the agent no longer mounts the daemon storage',
  );
  // Byte thresholds are bytes of what the daemon holds: no capacity (the agent refuses both).
  const bytes = await agentOf(['agent.gc.highThreshold=20Gi', 'agent.gc.lowThreshold=15Gi']);
  t.is(env(bytes, 'SLIPWAY_GC_CAPACITY'), undefined);
  t.is(env(bytes, 'SLIPWAY_DOCKER_PRIVATE'), 'true');
  const host = await agentOf(['agent.mode=host']);
  t.is(env(host, 'SLIPWAY_DOCKER_PRIVATE'), undefined, "the node's daemon is shared");
  t.is(env(host, 'SLIPWAY_GC_FILESYSTEM'), '/var/lib/docker');
});

test('the node cache: a sidecar on the Pod loopback in dind mode, a hostNetwork DaemonSet in host mode', async (t) => {
  const dind = (await renderChart({ values: [path.join(EXAMPLES, 'node-cache.yaml')] })).objects;
  t.is(dind.filter((o) => o.kind === 'DaemonSet').length, 1, 'no DaemonSet of its own');
  const pod = agentPod(dind);
  const cache = containers(pod).find((c) => c.name === 'node-cache')!;
  t.is(env(cache, 'SLIPWAY_CACHE_LISTEN'), '127.0.0.1:5001');
  t.true(
    containers(pod)
      .find((c) => c.name === 'dind')!
      .args!.includes('--registry-mirror=http://127.0.0.1:5001'),
  );
  t.deepEqual(
    cache.env!.find((e) => e.name === 'SLIPWAY_CACHE_UPSTREAM_PASSWORD'),
    { name: 'SLIPWAY_CACHE_UPSTREAM_PASSWORD', valueFrom: { secretKeyRef: { name: 'dockerhub', key: 'password' } } },
  );

  const host = (await renderChart({ set: [NATS, 'agent.mode=host', 'nodeCache.enabled=true'] })).objects;
  const ds = one(host, 'DaemonSet', '-node-cache').spec.template.spec;
  t.true(ds.hostNetwork);
  t.is(ds.automountServiceAccountToken, false);
  t.is(env(ds.containers[0], 'SLIPWAY_CACHE_LISTEN'), '127.0.0.1:5001', 'on the node loopback only');
  t.false(containers(agentPod(host)).some((c) => c.name === 'node-cache'));
  const off = (await renderChart({ set: [NATS] })).objects;
  t.false(off.some((o) => o.metadata.name.endsWith('-node-cache')));
});

test("metrics: the coordinator's HTTP port and the agent's metrics port, with scrape annotations the Pods' own annotations override; the dind agent reads its node cache sidecar's", async (t) => {
  const values = path.join(await tempDir(t, 'slipway-chart-'), 'values.yaml');
  await writeFile(values, 'agent:\n  metrics: { enabled: true }\n  podAnnotations: { prometheus.io/path: /other }\n');
  const objects = (await renderChart({ set: [NATS], values: [values] })).objects;
  const deployment = one(objects, 'Deployment', '-coordinator').spec.template;
  const coordinator = deployment.spec.containers[0];
  t.is(env(coordinator, 'SLIPWAY_HTTP_LISTEN'), '0.0.0.0:8080');
  t.deepEqual(
    coordinator.ports.find((p: { name: string }) => p.name === 'http'),
    { name: 'http', containerPort: 8080 },
  );
  t.deepEqual(deployment.metadata.annotations, {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': '8080',
    'prometheus.io/path': '/metrics',
  });
  t.true(
    one(objects, 'Service', '-coordinator').spec.ports.some(
      (p: { name: string; port: number }) => p.name === 'http' && p.port === 8080,
    ),
  );
  const agent = one(objects, 'DaemonSet', '-agent').spec.template;
  t.deepEqual(agent.metadata.annotations, {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': '9464',
    'prometheus.io/path': '/other',
  });

  const quiet = (await renderChart({ set: [NATS, 'coordinator.httpPort=null'] })).objects;
  const pod = one(quiet, 'Deployment', '-coordinator').spec.template;
  t.is(env(pod.spec.containers[0], 'SLIPWAY_HTTP_LISTEN'), undefined);
  t.is(pod.metadata.annotations, undefined);
  t.is(
    one(quiet, 'DaemonSet', '-agent').spec.template.metadata.annotations,
    undefined,
    'no metrics port, no scrape annotations',
  );

  const dind = agentPod((await renderChart({ values: [path.join(EXAMPLES, 'node-cache.yaml')] })).objects);
  t.is(
    env(
      containers(dind).find((c) => c.name === 'node-cache')!,
      'SLIPWAY_METRICS_ADDR',
    ),
    '127.0.0.1:9465',
  );
  t.is(
    env(
      containers(dind).find((c) => c.name === 'agent')!,
      'SLIPWAY_NODE_CACHE_METRICS_URL',
    ),
    'http://127.0.0.1:9465/metrics',
  );
});

test('every SLIPWAY_* variable the chart sets is one the settings reference (docs/settings.md) names', async (t) => {
  // The reference is made from the declarations (test/settings-units checks both agree, per process).
  const named = new Set((await readFile(path.join(ROOT, 'docs/settings.md'), 'utf8')).match(/SLIPWAY_[A-Z_]+/g));
  const seen = new Set<string>();
  for (const { objects } of await renderings()) {
    for (const { spec } of podTemplates(objects)) {
      for (const c of containers(spec))
        for (const e of c.env ?? []) if (e.name.startsWith('SLIPWAY_')) seen.add(e.name);
    }
  }
  const production = (
    await renderChart({
      values: [path.join(EXAMPLES, 'production.yaml')],
      set: [
        'kubeApi.requestheader.usernameHeaders=X-User',
        'kubeApi.requestheader.groupHeaders=X-Group',
        'kubeApi.requestheader.extraHeadersPrefix=X-Extra-',
      ],
    })
  ).objects;
  for (const c of containers(one(production, 'Deployment').spec.template.spec))
    for (const e of c.env ?? []) seen.add(e.name);
  t.true(seen.size > 20);
  t.deepEqual(
    [...seen].filter((n) => n.startsWith('SLIPWAY_') && !named.has(n)),
    [],
  );
});

test('rendering stops with a clear message when a required setting is missing', async (t) => {
  const fails = async (options: Parameters<typeof renderChart>[0], message: RegExp) => {
    const err = await t.throwsAsync(renderChart(options));
    t.regex(err!.message, message);
  };
  await fails({}, /nats\.url is required/);
  await fails(
    { set: [NATS, 'kubeApi.enabled=true', 'kubeApi.apiService.insecureSkipTLSVerify=true'] },
    /kubeApi\.tls\.existingSecret is required for kubeApi\.auth=delegated/,
  );
  await fails(
    { set: [NATS, 'kubeApi.enabled=true', 'kubeApi.auth=tokens', 'kubeApi.apiService.insecureSkipTLSVerify=true'] },
    /apiTokens\.existingSecret is required/,
  );
  await fails(
    { set: [NATS, 'kubeApi.enabled=true', 'kubeApi.auth=none', 'kubeApi.apiService.insecureSkipTLSVerify=true'] },
    /kubeApi\.auth=none .* local use only/,
  );
  await fails(
    { set: [NATS, 'kubeApi.enabled=true', 'kubeApi.tls.existingSecret=s', 'kubeApi.requestheader.caConfigMap=c'] },
    /kubeApi\.apiService\.caBundle is required/,
  );
  await fails({ set: [NATS, 'agent.mode=foo'] }, /agent\.mode must be host or dind, got "foo"/);
});

// --- values.schema.json --------------------------------------------------------------------

type Values = Record<string, unknown>;

function merge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof b === 'object' && b !== null && !Array.isArray(b))
      out[k] = merge(b as Values, v as Values);
    else out[k] = v;
  }
  return out;
}

async function schemaCheck(): Promise<(values: Values) => string[]> {
  const schema = JSON.parse(await readFile(path.join(CHART, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(schema);
  return (values) =>
    validate(values)
      ? []
      : (validate.errors ?? []).map(
          (e) =>
            `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`,
        );
}

test('values.schema.json accepts values.yaml and every example, merged as helm merges them', async (t) => {
  const check = await schemaCheck();
  const defaults = parse(await readFile(path.join(CHART, 'values.yaml'), 'utf8')) as Values;
  t.deepEqual(check(defaults), []);
  for (const file of await exampleFiles()) {
    const example = parse(await readFile(file, 'utf8')) as Values;
    t.deepEqual(check(example), [], path.basename(file));
    t.deepEqual(check(merge(defaults, example)), [], `${path.basename(file)} over values.yaml`);
  }
});

test('values.schema.json refuses bad values, naming the field', async (t) => {
  const check = await schemaCheck();
  const defaults = parse(await readFile(path.join(CHART, 'values.yaml'), 'utf8')) as Values;
  const bad = (over: Values) => check(merge(defaults, over));
  t.deepEqual(bad({ coordinator: { replicas: 0 } }), ['/coordinator/replicas must be >= 1']);
  t.deepEqual(bad({ coordinator: { replica: 2 } }), ['/coordinator must NOT have additional properties: replica']);
  t.deepEqual(bad({ agent: { mode: 'foo' } }), ['/agent/mode must be equal to one of the allowed values (host, dind)']);
  t.deepEqual(bad({ nats: { url: 'nats://user:secret@nats:4222' } }), [
    '/nats/url must match pattern "^$|^(nats|tls)://[^@]+$"',
  ]);
  t.deepEqual(bad({ kubeApi: { auth: 'open' } }), [
    '/kubeApi/auth must be equal to one of the allowed values (delegated, tokens, none)',
  ]);
  t.deepEqual(bad({ agent: { resources: { requests: { cpu: '1', memory: '1Gi' } } } }), []);
  t.true(
    bad({ agent: { resources: { limits: null } } }).some((e) => e.includes("must have required property 'limits'")),
  );
  t.deepEqual(bad({ nodeCache: { upstream: 'https://user:pw@registry.example' } }).length, 1);
  t.deepEqual(bad({ unknownTopLevel: true }), ['/ must NOT have additional properties: unknownTopLevel']);
});

test('every value in values.yaml is commented and described by the schema', async (t) => {
  const text = await readFile(path.join(CHART, 'values.yaml'), 'utf8');
  const schema = JSON.parse(await readFile(path.join(CHART, 'values.schema.json'), 'utf8')) as Values;
  const doc = parseDocument(text);
  const undocumented: string[] = [];
  const unschema: string[] = [];
  // A leaf is documented by a comment above it or above a parent (a block of settings shares one).
  const walk = (node: unknown, at: string[], documented: boolean, s: Values | undefined) => {
    if (!isMap(node)) return;
    for (const pair of node.items as Pair[]) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const here = [...at, key];
      const commented =
        documented || Boolean(pair.key.commentBefore) || Boolean((pair as { commentBefore?: string }).commentBefore);
      const props = s?.properties as Record<string, Values> | undefined;
      const sub = props?.[key];
      if ((!sub || !sub.description) && !(s?.type === 'object' && props === undefined)) unschema.push(here.join('.'));
      if (isMap(pair.value) && (pair.value as { flow?: boolean }).flow !== true) walk(pair.value, here, commented, sub);
      else if (!commented) undocumented.push(here.join('.'));
    }
  };
  walk(doc.contents, [], false, schema);
  t.deepEqual(undocumented, [], 'values without a comment');
  t.deepEqual(unschema, [], 'values without a schema description');
});

test('placement settings reach the coordinator and the agents: affinity, its grace, the timeout, the check; node labels, CPU and memory', async (t) => {
  const { objects } = await renderChart({
    set: [
      NATS,
      'coordinator.placement.affinity=false',
      'coordinator.placement.affinityGraceMs=5000',
      'coordinator.placement.checkMs=3000',
      'coordinator.placement.remindMs=1500',
      'agent.nodeLabels.pool=builds',
      'agent.nodeLabels.zone=a',
      'agent.cpu=6',
      'agent.memory=12Gi',
    ],
  });
  const coordinator = containers(one(objects, 'Deployment', '-coordinator').spec.template.spec).find(
    (c) => c.name === 'coordinator',
  )!;
  t.is(env(coordinator, 'SLIPWAY_PLACEMENT_AFFINITY'), 'false');
  t.is(env(coordinator, 'SLIPWAY_AFFINITY_GRACE_MS'), '5000');
  t.is(env(coordinator, 'SLIPWAY_PLACEMENT_TIMEOUT_MS'), undefined, 'unset: the default');
  t.is(env(coordinator, 'SLIPWAY_PLACEMENT_CHECK_MS'), '3000');
  t.is(env(coordinator, 'SLIPWAY_PLACEMENT_REMIND_MS'), '1500');
  const agent = containers(agentPod(objects)).find((c) => c.name === 'agent')!;
  t.is(env(agent, 'SLIPWAY_NODE_LABELS'), 'pool=builds,zone=a');
  t.is(env(agent, 'SLIPWAY_AGENT_CPU'), '6');
  t.is(env(agent, 'SLIPWAY_AGENT_MEMORY'), '12Gi');
  const defaults = containers(agentPod((await renderChart({ set: [NATS] })).objects)).find((c) => c.name === 'agent')!;
  t.is(env(defaults, 'SLIPWAY_NODE_LABELS'), undefined);
});
