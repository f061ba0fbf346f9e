/**
 * The rendered pods run (issue #20, must-shows 3 and 4). No Kubernetes API server can be had
 * here, so the chart's coordinator Deployment and agent DaemonSet (dind mode, node cache on) are
 * rendered by tools/chart-render and their pod templates run by test/helpers/pod-runner.ts, a
 * small kubelet on the environment's dockerd: the images `scripts/images` builds (the values
 * name them), command, args, env (fieldRef, secretKeyRef, $(VAR), the Service links), user and
 * groups, read-only root filesystem, capabilities, no-new-privileges, emptyDir and Secret volumes
 * as bind mounts, one network and IPC namespace per pod (a pause container on a bridge network
 * of the test's own), native sidecars started in order behind their startupProbes, and deletion
 * with the kubelet's signals and order. The runner refuses any field it cannot honour, so what
 * runs is what was rendered. Values change only what a cluster would: addresses, images, the
 * dind daemon's --insecure-registry, the node cache's upstream, and agent.kubeNode=false.
 *
 * Where it runs otherwise than rendered: `privileged: true` (the dind sidecar) cannot start on
 * this dockerd (its host lacks CAP_SYS_RESOURCE), so that container gets what privileged gives
 * dockerd instead (every other capability, no seccomp or AppArmor, /proc unmasked, cgroups
 * writable; pod-container-config.ts, privilegedStandIn), logged as a deviation. A Service's
 * ClusterIP is its one pod's IP (no kube-proxy); the API server's links name an address where
 * nothing answers.
 *
 * What this cannot prove, and a cluster must: scheduling (affinity, nodeSelector, tolerations,
 * priority); probes' effect (every probe is run once and must pass, but only the sidecars'
 * startupProbes gate anything here: no container is restarted or taken out of a Service); RBAC
 * and ServiceAccount tokens (the agent runs with kubeNode off: no API server to read its Node
 * from); admission and Pod Security; seccomp as a CRI runtime applies it (dockerd's default
 * profile stands in for RuntimeDefault); cgroup limits (resources are not applied); emptyDir
 * sizeLimit; kube DNS and kube-proxy (Services are /etc/hosts entries; the test reaches the
 * coordinator at its pod IP); image pulls (imagePullPolicy, pull secrets).
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayClient } from '../cli/client.js';
import { one, renderChart, type K8sObject } from './helpers/chart.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer, type GitServer } from './helpers/git-server.js';
import { waitForHealth } from './helpers/grpc-health.js';
import { startNatsServer } from './helpers/nats-server.js';
import {
  createPodNetwork,
  runPod,
  UnsupportedPodFieldError,
  type PodRunnerOptions,
  type RunningPod,
  type TerminationEvent,
} from './helpers/pod-runner.js';
import { tempDir } from './helpers/processes.js';
import { registryDigest, serveRegistry } from './helpers/registry.js';
import { imagesScript } from './helpers/slipway-images.js';
import { dockerBuildConfig } from './helpers/slipway.js';
import { startSshGitServer } from './helpers/ssh-git-server.js';
import { TeardownStack } from './helpers/teardowns.js';
import { copyImage } from './helpers/upstream-registry.js';
import { eventually } from './helpers/eventually.js';
import { containerConfig, type PodIdentity } from './helpers/pod-container-config.js';

const NAMESPACE = 'slipway-system';
// The agent's drain: longer than the slow step of the drain test, and the pod's grace period
// (the chart makes it drain + 15 s) longer still.
const DRAIN_MS = 30_000;
const SLOW_STEP_S = 5;

interface Stack {
  client: SlipwayClient;
  registry: string;
  git: GitServer;
  ssh: Awaited<ReturnType<typeof startSshGitServer>>;
  coordinator: RunningPod;
  agent: RunningPod;
  /** One more agent pod on node `node`, from the chart rendered with the agent's drain set to `drainMs`. */
  startAgent(node: string, drainMs: number): Promise<RunningPod>;
}

const teardowns = new TeardownStack();
let stack: Promise<Stack> | undefined;
test.after.always(() => teardowns.run());

/** Everything the pods need, where the pod network reaches it, then the two pods; once per file. */
function startStack(): Promise<Stack> {
  stack ??= (async () => {
    const t = teardowns;
    const env = testEnvironment();
    const docker = environmentDocker();
    // Cached by docker build after the first time; minutes on a cold cache.
    const [coordinatorImage, agentImage, nodeCacheImage] = await imagesScript(
      'build',
      'coordinator',
      'agent',
      'node-cache',
    );
    const [dindImage] = await imagesScript('dind');

    const network = await createPodNetwork(t, docker);
    const host = network.gateway;
    const nats = await startNatsServer(t, { host });
    const registry = (await serveRegistry(t, await tempDir(t, 'slipway-pods-registry-'), '', { host })).address;
    // The upstream of the node cache: `FROM busybox` (docker.io/library/busybox) comes from here.
    await copyImage(env.registry, registry, 'library/busybox', 'latest');
    const git = await startGitServer(t, { host });
    const ssh = await startSshGitServer(t, { host });

    // REGISTRY/PATH/REPOSITORY:TAG; Slipway's images are REPOSITORY:TAG under image.registry.
    const split = (ref: string) => {
      const colon = ref.lastIndexOf(':');
      const slash = ref.lastIndexOf('/', colon);
      return { registry: ref.slice(0, slash), repository: ref.slice(slash + 1, colon), tag: ref.slice(colon + 1) };
    };
    const own = (ref: string) => ({ repository: split(ref).repository, tag: split(ref).tag });
    const values = (drainMs: number) => ({
      image: { registry: split(coordinatorImage!).registry },
      nats: { url: nats.url },
      secretKey: { existingSecret: 'slipway-secret-key' },
      coordinator: { replicas: 1, image: own(coordinatorImage!) },
      agent: {
        mode: 'dind',
        image: own(agentImage!),
        // No API server here to read the Node from (and so no ServiceAccount token to mount).
        kubeNode: false,
        drainTimeoutMs: drainMs,
        heartbeatIntervalMs: 500,
        dind: {
          image: {
            repository: `${split(dindImage!).registry}/${split(dindImage!).repository}`,
            tag: split(dindImage!).tag,
          },
          extraArgs: [`--insecure-registry=${registry}`],
        },
      },
      nodeCache: { enabled: true, image: own(nodeCacheImage!), upstream: `http://${registry}` },
    });
    const valuesDir = await tempDir(t, 'slipway-pods-values-');
    const render = async (drainMs: number) => {
      const file = path.join(valuesDir, `values-${drainMs}.yaml`);
      await writeFile(file, JSON.stringify(values(drainMs))); // JSON is YAML
      return (await renderChart({ values: [file], imageRegistry: null, namespace: NAMESPACE })).objects;
    };
    const objects = await render(DRAIN_MS);

    const images = Object.fromEntries(
      [coordinatorImage!, agentImage!, nodeCacheImage!, dindImage!].map((ref) => [ref, ref]),
    );
    const runner: PodRunnerOptions = {
      docker,
      network,
      images,
      pauseImage: env.baseImage,
      nodeName: 'node-a',
      secrets: { 'slipway-secret-key': { 'secret-key': randomBytes(32).toString('base64') } },
      serviceAccounts: objects.filter((o) => o.kind === 'ServiceAccount'),
    };
    const template = (o: K8sObject) => ({ metadata: o.spec.template.metadata, spec: o.spec.template.spec });
    // helm creates the Service before the Deployment: the coordinator gets its links too.
    const coordinatorService = one(objects, 'Service', 'coordinator');
    const coordinator = await runPod(t, runner, {
      name: 'slipway-coordinator-5d8f7c9b4-x2k4q',
      namespace: NAMESPACE,
      ...template(one(objects, 'Deployment', 'coordinator')),
      services: [{ service: coordinatorService, backend: 'self' }],
    });
    const address = `${coordinator.ip}:7070`;
    const health = await waitForHealth(address, 'SERVING', 60_000).catch((e: Error) => e.message);
    if (health !== 'SERVING') throw new Error(`coordinator: ${health}\n${await coordinator.allLogs()}`);
    const services = [{ service: coordinatorService, backend: coordinator }];
    const startAgent = async (node: string, drainMs: number) =>
      runPod(
        t,
        { ...runner, nodeName: node },
        {
          name: `slipway-agent-${node}`,
          namespace: NAMESPACE,
          ...template(one(await render(drainMs), 'DaemonSet', 'agent')),
          services,
        },
      );
    const agent = await startAgent('node-a', DRAIN_MS);
    for (const d of [...coordinator.deviations, ...agent.deviations]) console.log(`chart-pods: deviation: ${d}`);
    const client = new SlipwayClient(address);
    t.teardown(() => client.close());
    return { client, registry, git, ssh, coordinator, agent, startAgent };
  })();
  return stack;
}

const unique = () => randomBytes(4).toString('hex');

test.serial(
  'the rendered coordinator and agent pods run, and Docker builds from git:// and ssh:// complete through them',
  async (t) => {
    t.timeout(600_000);
    const started = Date.now();
    const s = await startStack();
    t.log(`the images built (cached), the servers and both pods up in ${Date.now() - started} ms`);
    await s.git.createRepo('app', { Dockerfile: 'FROM busybox\nRUN echo built-in-a-pod > /built\n' });
    await s.client.createSecret({
      metadata: { name: 'deploy-key' },
      type: 'ssh-auth',
      sshPrivateKey: s.ssh.clientKey,
      knownHosts: s.ssh.knownHosts,
    });
    const suffix = unique();
    const gitConfig = dockerBuildConfig('via-git', `${s.git.base}/app`, `${s.registry}/pods/via-git-${suffix}:v1`);
    const sshConfig = dockerBuildConfig(
      'via-ssh',
      `${s.ssh.base}${s.git.root}/app`,
      `${s.registry}/pods/via-ssh-${suffix}:v1`,
    );
    sshConfig.spec!.source!.sourceSecret = { name: 'deploy-key' };
    for (const config of [gitConfig, sshConfig]) {
      await s.client.createBuildConfig(config);
      await s.client.startBuild({ namespace: 'default', configName: config.metadata!.name! });
    }
    for (const name of ['via-git', 'via-ssh']) {
      const build = await s.client.waitForBuild('default', `${name}-1`);
      t.is(build.status!.phase, 'Complete', `${name}: ${build.status!.message}\n${await s.agent.allLogs()}`);
      t.is(build.status!.agent, 'node-a', 'the agent is named after its node (spec.nodeName)');
      t.truthy(await registryDigest(`pods/${name}-${suffix}`, 'v1', s.registry), `${name}'s image is in the registry`);
    }
    // The rendered securityContexts are in effect on the processes that did it.
    for (const [pod, container] of [
      [s.coordinator, 'coordinator'],
      [s.agent, 'node-cache'],
      [s.agent, 'agent'],
    ] as const) {
      const r = await pod.exec(container, [
        'sh',
        '-c',
        'grep -E "^(Uid|CapEff|NoNewPrivs):" /proc/1/status; touch /probe 2>&1; true',
      ]);
      t.regex(r.output, /^Uid:\s+65532\s/m, `${container}: ${r.output}`);
      t.regex(r.output, /^CapEff:\s+0+$/m, `${container}: ${r.output}`);
      t.regex(r.output, /^NoNewPrivs:\s+1$/m, `${container}: ${r.output}`);
      t.regex(r.output, /Read-only file system/, `${container}: ${r.output}`);
    }
    // Every rendered probe passes against the running containers (their effect needs a kubelet).
    for (const [pod, container] of [
      [s.coordinator, 'coordinator'],
      [s.agent, 'node-cache'],
      [s.agent, 'dind'],
      [s.agent, 'agent'],
    ] as const)
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        const result = await pod.probe(container, kind);
        t.true(result.ok, `${container} ${kind}: ${result.detail}`);
      }
    // busybox came from the node cache sidecar: docker.io cannot be reached from here.
    const metrics = await s.agent.exec('agent', [
      'node',
      '-e',
      "fetch('http://127.0.0.1:9465/metrics').then(r => r.text()).then(t => console.log(t))",
    ]);
    t.regex(metrics.output, /slipway_node_cache_blob_misses_total\{[^}]*\} [1-9]/, metrics.output);
  },
);

test.serial(
  "deleting the agent pod the kubelet's way while a build runs: the dind daemon outlives the drain, the build completes",
  async (t) => {
    t.timeout(300_000);
    const s = await startStack();
    await s.git.createRepo('slow', {
      Dockerfile: `FROM busybox\nRUN echo slow-step-started && sleep ${SLOW_STEP_S} && echo slept > /slept\n`,
    });
    const image = `${s.registry}/pods/slow-${unique()}:v1`;
    await s.client.createBuildConfig(dockerBuildConfig('slow', `${s.git.base}/slow`, image));
    await s.client.startBuild({ namespace: 'default', configName: 'slow' });
    // The slow step has begun on the pod's private daemon.
    for await (const line of s.client.streamBuildLogs({ namespace: 'default', name: 'slow-1', follow: true }))
      if (line.text.includes('slow-step-started')) break;

    const deleting = s.agent.delete();
    // While the agent drains (it has had its SIGTERM and still runs), its daemon answers.
    await eventually('the agent to log its SIGTERM', async () =>
      (await s.agent.logs('agent')).includes('"msg":"stopping","component":"agent","signal":"SIGTERM"'),
    );
    t.true((await s.agent.state('agent')).running, 'the agent is still draining');
    const dindDuringDrain = await s.agent.probe('dind', 'readinessProbe');
    t.true(dindDuringDrain.ok, `dind during the drain: ${dindDuringDrain.detail}`);
    const events = await deleting;
    t.log(formatEvents(events));
    const build = await s.client.waitForBuild('default', 'slow-1');
    t.is(build.status!.phase, 'Complete', `${build.status!.message}\n${await s.agent.allLogs()}`);
    t.is(build.status!.attempt, 1, 'finished by the draining agent, not retried');
    t.truthy(await registryDigest(image.slice(s.registry.length + 1, image.lastIndexOf(':')), 'v1', s.registry));

    // The order the kubelet uses: the agent got SIGTERM and exited on its own (no SIGKILL), and
    // only then was the dind sidecar signalled, then the node cache (reverse start order).
    const at = (container: string, what: string) =>
      events.findIndex((e) => e.container === container && e.what === what);
    t.true(at('agent', 'SIGTERM') === 0);
    t.is(at('agent', 'SIGKILL'), -1, 'the agent drained within the grace period');
    t.is(events[at('agent', 'exited')]!.exitCode, 0);
    t.true(at('agent', 'exited') < at('dind', 'SIGTERM'), 'dind is stopped after the agent has exited');
    t.true(at('dind', 'exited') < at('node-cache', 'SIGTERM'), 'the node cache is stopped after dind');
  },
);

test('the pod runner refuses what it cannot run as rendered, naming the field', async (t) => {
  const options = (objects: K8sObject[]): PodRunnerOptions => ({
    docker: environmentDocker(),
    network: { name: 'unused', gateway: '127.0.0.1' },
    images: {},
    pauseImage: 'unused',
    nodeName: 'node-a',
    serviceAccounts: objects.filter((o) => o.kind === 'ServiceAccount'),
  });
  const refused = async (objects: K8sObject[], spec: Record<string, any>, field: string) => {
    const err = await t.throwsAsync(runPod(t, options(objects), { name: 'p', namespace: NAMESPACE, spec }), {
      instanceOf: UnsupportedPodFieldError,
    });
    t.is(err?.field, field, err?.message);
  };
  // Host mode mounts the node's Docker socket: a hostPath, which dind mode must not need.
  const host = await renderChart({ set: ['nats.url=nats://n:4222', 'agent.mode=host', 'agent.kubeNode=false'] });
  const hostSpec = one(host.objects, 'DaemonSet', 'agent').spec.template.spec;
  const socketVolume = hostSpec.volumes.findIndex((v: any) => v.hostPath);
  await refused(host.objects, hostSpec, `spec.volumes[${socketVolume}].hostPath`);
  // The agent reading its Node needs a ServiceAccount token: no API server issues one here.
  const kube = await renderChart({ set: ['nats.url=nats://n:4222'] });
  const agentSpec = one(kube.objects, 'DaemonSet', 'agent').spec.template.spec;
  await refused(kube.objects, agentSpec, 'spec.automountServiceAccountToken');
  // A field the runner does not know, and one it knows it cannot honour.
  const dind = await renderChart({ set: ['nats.url=nats://n:4222', 'agent.kubeNode=false'] });
  const spec = one(dind.objects, 'DaemonSet', 'agent').spec.template.spec;
  await refused(dind.objects, { ...spec, hostNetwork: true }, 'spec.hostNetwork');
  const withHook = structuredClone(spec);
  withHook.containers[0].lifecycle = { preStop: { exec: { command: ['true'] } } };
  await refused(dind.objects, withHook, 'spec.containers[0].lifecycle');
  const withEnvFrom = structuredClone(spec);
  withEnvFrom.containers[0].envFrom = [{ secretRef: { name: 's' } }];
  await refused(dind.objects, withEnvFrom, 'spec.containers[0].envFrom');
});

test.serial(
  "deleting an agent pod whose drain is shorter than the running step: the build is handed back (AgentShutdown) and another agent's attempt completes it",
  async (t) => {
    t.timeout(300_000);
    const s = await startStack();
    // The first agent pod is gone (the test before); this one drains for 2 s only.
    const short = await s.startAgent('node-b', 2000);
    await s.git.createRepo('handback', {
      Dockerfile: `FROM busybox\nRUN echo slow-step-started && sleep ${SLOW_STEP_S} && echo slept > /slept\n`,
    });
    const image = `${s.registry}/pods/handback-${unique()}:v1`;
    const config = dockerBuildConfig('handback', `${s.git.base}/handback`, image);
    config.spec!.retries = 1;
    await s.client.createBuildConfig(config);
    await s.client.startBuild({ namespace: 'default', configName: 'handback' });
    for await (const line of s.client.streamBuildLogs({ namespace: 'default', name: 'handback-1', follow: true }))
      if (line.text.includes('slow-step-started')) break;

    const events = await short.delete();
    t.log(formatEvents(events));
    const at = (container: string, what: string) =>
      events.findIndex((e) => e.container === container && e.what === what);
    t.is(at('agent', 'SIGKILL'), -1, 'the agent handed the build back and exited within the grace period');
    t.true(at('agent', 'exited') < at('dind', 'SIGTERM'), 'dind is stopped after the agent has exited');
    // The agent reported the hand-back before it exited; the coordinator's write may trail it.
    const handedBack = await eventually('the build to wait for its second attempt', async () => {
      const b = await s.client.getBuild('default', 'handback-1');
      return b.status!.attempt === 2 ? b : undefined;
    });
    t.is(handedBack.status!.phase, 'Pending', handedBack.status!.message);
    const lost = handedBack.status!.events.find((e) => e.reason === 'AttemptLost');
    t.regex(lost?.message ?? '', /attempt 1 on agent node-b lost \(AgentShutdown\)/, JSON.stringify(handedBack.status));

    await s.startAgent('node-c', DRAIN_MS);
    const build = await s.client.waitForBuild('default', 'handback-1');
    t.is(build.status!.phase, 'Complete', build.status!.message);
    t.is(build.status!.attempt, 2);
    t.is(build.status!.agent, 'node-c');
    t.truthy(await registryDigest(image.slice(s.registry.length + 1, image.lastIndexOf(':')), 'v1', s.registry));
  },
);

function formatEvents(events: TerminationEvent[]): string {
  return events
    .map((e) => `${e.atMs} ms ${e.container} ${e.what}${e.exitCode !== undefined ? ` ${e.exitCode}` : ''}`)
    .join('\n');
}

test('the pod runner turns the rendered agent pod into Docker settings as the kubelet would', async (t) => {
  const { objects } = await renderChart({
    set: ['nats.url=nats://n:4222', 'agent.kubeNode=false', 'nodeCache.enabled=true'],
    namespace: NAMESPACE,
  });
  const spec = one(objects, 'DaemonSet', 'agent').spec.template.spec;
  const pod: PodIdentity = {
    name: 'slipway-agent-x',
    namespace: NAMESPACE,
    uid: 'u',
    nodeName: 'node-a',
    serviceAccountName: 'slipway-agent',
    podIP: '10.0.0.2',
    hostIP: '10.0.0.1',
    labels: {},
    annotations: {},
  };
  const volumes = new Map<string, { hostPath: string; readOnly: boolean }>(
    spec.volumes.map((v: any) => [v.name, { hostPath: `/host/${v.name}`, readOnly: false }]),
  );
  const config = (c: any, o: { imageUser?: string; spec?: any } = {}) =>
    containerConfig({
      container: c,
      at: c.name,
      spec: o.spec ?? spec,
      image: 'local',
      imageUser: o.imageUser ?? '',
      pod,
      pause: 'pause-id',
      volumes,
      secrets: {},
      configMaps: {},
    });
  const byName = (list: any[], name: string) => list.find((c) => c.name === name);
  const agent = config(byName(spec.containers, 'agent'));
  t.is(agent.User, '65532:65532');
  t.is(agent.Entrypoint, undefined, 'no command: the image ENTRYPOINT');
  t.is(agent.Cmd, undefined, 'no args: the image CMD');
  t.true(agent.HostConfig.ReadonlyRootfs);
  t.deepEqual(agent.HostConfig.CapDrop, ['ALL']);
  t.deepEqual(agent.HostConfig.SecurityOpt, ['no-new-privileges']);
  t.is(agent.HostConfig.NetworkMode, 'container:pause-id');
  t.true(agent.HostConfig.Binds.includes('/host/dind-socket:/run/slipway-dind:rw'));
  t.true(agent.Env.includes('SLIPWAY_AGENT_NAME=node-a'), 'fieldRef spec.nodeName');
  const dind = config(byName(spec.initContainers, 'dind'));
  t.deepEqual(dind.Entrypoint, ['dockerd-entrypoint.sh']);
  t.is(dind.Cmd?.[0], 'dockerd');
  t.true(dind.HostConfig.Privileged);
  t.is(dind.User, undefined, 'the image user (root)');
  const cache = config(byName(spec.initContainers, 'node-cache'));
  t.deepEqual(cache.Entrypoint, ['node', 'dist/node-cache/main.js']);
  t.is(cache.Cmd, undefined, 'command without args: the image CMD is not used');
  // runAsNonRoot: refused for root, and for an image user that is a name (the kubelet cannot check it).
  const nonRoot = { ...spec, securityContext: { runAsNonRoot: true } };
  for (const imageUser of ['', '0', 'slipway'])
    t.throws(() => config({ name: 'c', image: 'x' }, { imageUser, spec: nonRoot }), {
      instanceOf: UnsupportedPodFieldError,
      message: /c\.securityContext\.runAsNonRoot/,
    });
  t.is(config({ name: 'c', image: 'x' }, { imageUser: '10001:10001', spec: nonRoot }).User, undefined);
});
