import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { chmod, chown, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import type { K8sObject } from './chart.js';
import { demux } from './docker.js';
import { checkHealth, healthClient } from './grpc-health.js';
import { tempDir } from './processes.js';
import type { Teardowns } from './teardowns.js';
import {
  checkPodSpec,
  containerConfig,
  privilegedStandIn,
  serviceLinkEnv,
  UnsupportedPodFieldError,
  type Objects,
  type PodIdentity,
} from './pod-container-config.js';

export { UnsupportedPodFieldError } from './pod-container-config.js';

/**
 * A small "kubelet on dockerd": runs a rendered PodSpec's containers on a Docker daemon as the
 * kubelet and a CRI runtime would.
 *
 * Honoured: one network and IPC namespace per pod (a pause container on a user-defined bridge
 * network, hostname the pod's name, Services as /etc/hosts entries); image (through a map to
 * local images), command (replaces ENTRYPOINT) and args (replace CMD), workingDir; env with
 * $(VAR), valueFrom fieldRef (metadata.name/namespace/uid/labels/annotations, spec.nodeName,
 * spec.serviceAccountName, status.podIP/hostIP), secretKeyRef and configMapKeyRef, and the
 * Service links; pod and container securityContext merged (runAsUser/runAsGroup → user,
 * runAsNonRoot checked, supplementalGroups and fsGroup → extra groups, readOnlyRootFilesystem,
 * capabilities, allowPrivilegeEscalation false → no-new-privileges, privileged, seccompProfile
 * RuntimeDefault or Unconfined); volumes emptyDir (0777, fsGroup-owned and setgid), secret and
 * configMap (files, bind-mounted read-only); native sidecars (restartPolicy Always) started in
 * order, each behind its exec startupProbe; plain init containers run to completion; deletion
 * with the kubelet's signals and order (RunningPod.delete). Any probe (exec, tcpSocket, httpGet,
 * grpc) can be run once on request (RunningPod.probe).
 *
 * Refused (UnsupportedPodFieldError naming the field): any field not listed in
 * pod-container-config.ts, hostPath and every other volume type, emptyDir medium, volume items,
 * subPath, mount propagation, envFrom, resourceFieldRef, lifecycle hooks, hostPort,
 * hostNetwork/PID/IPC, non-exec startupProbes, a mounted ServiceAccount token, seccomp Localhost.
 * Read but without effect (the caller says so): resources, probes (but sidecars' startupProbes), ports,
 * scheduling fields, imagePullPolicy and pull secrets, emptyDir sizeLimit.
 */

/** KUBERNETES_SERVICE_HOST in every container: TEST-NET-2, where nothing answers (no API server here). */
export const API_SERVER_STANDIN = '198.51.100.1';

/** A user-defined bridge network the pods' pause containers join; the host is its gateway. */
export interface PodNetwork {
  name: string;
  /** The host's address on the network: what a pod reaches the test's servers at. */
  gateway: string;
}

/** Creates a bridge network of the test's own (removed when the test ends). */
export async function createPodNetwork(t: Teardowns, docker: Docker): Promise<PodNetwork> {
  const name = `slipway-pods-${randomUUID().slice(0, 8)}`;
  const network = await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true });
  t.teardown(() => network.remove().catch(() => {}));
  const gateway = (await network.inspect()).IPAM?.Config?.[0]?.Gateway as string | undefined;
  if (!gateway) throw new Error(`network ${name} has no gateway address`);
  return { name, gateway };
}

export interface PodRunnerOptions {
  docker: Docker;
  network: PodNetwork;
  /** The local image to run for each image the chart names. A name without an entry throws. */
  images: Record<string, string>;
  /** Any local image with `sleep`: holds the pod's network and IPC namespaces. */
  pauseImage: string;
  /** spec.nodeName the pods are "scheduled" to. */
  nodeName: string;
  /** Secrets by name (key → decoded value), for secretKeyRef and secret volumes. */
  secrets?: Objects;
  /** ConfigMaps by name, for configMapKeyRef and configMap volumes. */
  configMaps?: Objects;
  /** The rendered ServiceAccounts: their automountServiceAccountToken applies when the pod says nothing. */
  serviceAccounts?: K8sObject[];
}

export interface PodToRun {
  name: string;
  namespace: string;
  /** The pod template's metadata (labels, annotations). */
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, any>;
  /**
   * The Services that exist when the pod starts, each with the one pod behind it ('self': this
   * pod): /etc/hosts entries for their names (serviceHosts; none for 'self') and, unless
   * spec.enableServiceLinks is false, the kubelet's Service-link variables for those of the
   * pod's namespace, with the backend's IP standing in for the Service's ClusterIP.
   */
  services?: { service: K8sObject; backend: RunningPod | 'self' }[];
}

/** One step of a pod's deletion, `atMs` after it began. */
export interface TerminationEvent {
  container: string;
  /** The signal sent (the image's STOPSIGNAL, SIGTERM, SIGKILL), or 'exited'. */
  what: string;
  atMs: number;
  exitCode?: number;
}

interface RunContainer {
  name: string;
  id: string;
  sidecar: boolean;
}

/** A pod whose containers run; `delete` stops them as the kubelet does. */
export class RunningPod {
  constructor(
    private readonly docker: Docker,
    readonly name: string,
    /** The pod's IP on the pod network. */
    readonly ip: string,
    readonly spec: Record<string, any>,
    readonly labels: Record<string, string>,
    private readonly pause: string,
    private readonly containers: RunContainer[],
    /** Where the pod runs other than as rendered, and why (empty when exactly as rendered). */
    readonly deviations: string[],
  ) {}

  /** The Docker id of a container of the pod, by its name in the PodSpec. */
  containerId(name: string): string {
    const c = this.containers.find((c) => c.name === name);
    if (!c) throw new Error(`pod ${this.name} has no container ${name}`);
    return c.id;
  }

  /** Whether the container runs, and its exit code once it has exited. */
  async state(name: string): Promise<{ running: boolean; exitCode: number }> {
    const s = (await this.docker.getContainer(this.containerId(name)).inspect()).State;
    return { running: s.Running, exitCode: s.ExitCode };
  }

  /** What the container printed, both streams. */
  async logs(name: string): Promise<string> {
    const buf = await this.docker.getContainer(this.containerId(name)).logs({ stdout: true, stderr: true });
    return demux(buf as unknown as Buffer);
  }

  /** Every container's last lines, for a failing assertion's message. */
  async allLogs(tail = 30): Promise<string> {
    const parts: string[] = [];
    for (const c of this.containers) {
      const text = await this.logs(c.name).catch((e: Error) => e.message);
      parts.push(`--- ${this.name}/${c.name}\n${text.split('\n').slice(-tail).join('\n')}`);
    }
    return parts.join('\n');
  }

  /**
   * Runs the container's probe of that kind once, as the kubelet would (exec in the container;
   * tcpSocket, httpGet and grpc against the pod's IP), within its timeoutSeconds. `ok` is the
   * kubelet's verdict; a container without such a probe passes.
   */
  async probe(
    name: string,
    kind: 'startupProbe' | 'readinessProbe' | 'livenessProbe',
  ): Promise<{ ok: boolean; detail: string }> {
    const all = [...(this.spec.initContainers ?? []), ...this.spec.containers];
    const c = all.find((c: any) => c.name === name);
    const probe = c?.[kind];
    if (!probe) return { ok: true, detail: `no ${kind}` };
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    const port = (p: number | string) =>
      typeof p === 'number' ? p : (c.ports ?? []).find((cp: any) => cp.name === p)?.containerPort;
    const within = <T>(work: Promise<T>, late: T) =>
      Promise.race([work, new Promise<T>((r) => setTimeout(() => r(late), timeoutMs))]);
    if (probe.exec) {
      const r = await within(this.exec(name, probe.exec.command), { exitCode: -1, output: 'timed out' });
      return { ok: r.exitCode === 0, detail: `exit ${r.exitCode}: ${r.output}` };
    }
    if (probe.tcpSocket) {
      const target = port(probe.tcpSocket.port);
      const open = new Promise<boolean>((resolve) => {
        const s = net.connect(target, this.ip, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      const ok = await within(open, false);
      return { ok, detail: `tcp ${this.ip}:${target} ${ok ? 'open' : 'closed'}` };
    }
    if (probe.httpGet) {
      if ((probe.httpGet.scheme ?? 'HTTP') !== 'HTTP') throw new UnsupportedPodFieldError(`${name}.${kind}`, 'HTTPS');
      const url = `http://${this.ip}:${port(probe.httpGet.port)}${probe.httpGet.path ?? '/'}`;
      const status = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
        (r) => r.status,
        () => 0,
      );
      return { ok: status >= 200 && status < 400, detail: `GET ${url}: ${status}` };
    }
    if (probe.grpc) {
      const client = healthClient(`${this.ip}:${probe.grpc.port}`);
      try {
        const status = await checkHealth(client, probe.grpc.service ?? '', timeoutMs).catch((e: Error) => e.message);
        return { ok: status === 'SERVING', detail: `grpc health: ${status}` };
      } finally {
        client.close();
      }
    }
    throw new UnsupportedPodFieldError(`${name}.${kind}`, 'unknown probe handler');
  }

  /** Runs `cmd` in the container (as its user) to the end: its exit code and output. */
  async exec(name: string, cmd: string[]): Promise<{ exitCode: number; output: string }> {
    return execIn(this.docker, this.containerId(name), cmd);
  }

  /**
   * Deletes the pod the kubelet's way: the stop signal (the image's STOPSIGNAL, else SIGTERM)
   * to every main container at once, SIGKILL to what still runs when terminationGracePeriodSeconds
   * have passed; then each native sidecar in the reverse of its start order with what is left of
   * the grace period (at least the kubelet's minimum of 2 s), then SIGKILL. Returns what happened,
   * in order. The containers stay (for their logs) until the test ends.
   */
  async delete(): Promise<TerminationEvent[]> {
    const start = Date.now();
    const events: TerminationEvent[] = [];
    const note = (container: string, what: string, exitCode?: number) =>
      events.push({ container, what, atMs: Date.now() - start, exitCode });
    const deadline = start + (this.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const mains = this.containers.filter((c) => !c.sidecar);
    await Promise.all(mains.map((c) => this.stop(c, deadline, note)));
    for (const c of this.containers.filter((c) => c.sidecar).reverse())
      await this.stop(c, Math.max(deadline, Date.now() + 2000), note);
    await this.docker
      .getContainer(this.pause)
      .kill({ signal: 'SIGKILL' })
      .catch(() => {});
    return events;
  }

  private async stop(
    c: RunContainer,
    deadline: number,
    note: (container: string, what: string, exitCode?: number) => void,
  ): Promise<void> {
    const container = this.docker.getContainer(c.id);
    const info = await container.inspect();
    if (!info.State.Running) return;
    const exited = container.wait({ condition: 'not-running' }) as Promise<{ StatusCode: number }>;
    const signal = (info.Config as { StopSignal?: string }).StopSignal || 'SIGTERM';
    note(c.name, signal);
    await container.kill({ signal }).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), Math.max(0, deadline - Date.now()))));
    const first = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (first === 'late') {
      note(c.name, 'SIGKILL');
      await container.kill({ signal: 'SIGKILL' }).catch(() => {});
      const r = await exited;
      note(c.name, 'exited', r.StatusCode);
    } else note(c.name, 'exited', first.StatusCode);
  }
}

async function execIn(docker: Docker, id: string, cmd: string[]): Promise<{ exitCode: number; output: string }> {
  const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  await new Promise((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
}

/**
 * The /etc/hosts entries that stand in for a Service (name.namespace.svc and its longer and
 * shorter forms) pointing at one pod. Throws when the Service does not select the pod, or maps
 * a port to a different target port (no kube-proxy here to translate it).
 */
export function serviceHosts(service: K8sObject, pod: RunningPod): Record<string, string> {
  const at = `Service/${service.metadata.name}`;
  for (const [k, v] of Object.entries(service.spec.selector ?? {}))
    if (pod.labels[k] !== v)
      throw new UnsupportedPodFieldError(`${at}.spec.selector`, `does not select pod ${pod.name}`);
  const ports = (pod.spec.containers as any[]).flatMap((c) => c.ports ?? []);
  for (const [i, p] of (service.spec.ports ?? []).entries()) {
    const target =
      typeof p.targetPort === 'string'
        ? ports.find((cp: any) => cp.name === p.targetPort)?.containerPort
        : (p.targetPort ?? p.port);
    if (target !== p.port)
      throw new UnsupportedPodFieldError(`${at}.spec.ports[${i}]`, `port ${p.port} → ${target}: no kube-proxy here`);
  }
  const ns = service.metadata.namespace ?? 'default';
  const name = service.metadata.name;
  const hosts: Record<string, string> = {};
  for (const h of [`${name}.${ns}.svc.cluster.local`, `${name}.${ns}.svc`, `${name}.${ns}`, name]) hosts[h] = pod.ip;
  return hosts;
}

/** Host folders for the pod's volumes: emptyDir, secret and configMap; anything else throws. */
async function makeVolumes(
  t: Teardowns,
  spec: Record<string, any>,
  o: PodRunnerOptions,
): Promise<Map<string, { hostPath: string; readOnly: boolean }>> {
  const root = await tempDir(t, 'slipway-pod-');
  const fsGroup = spec.securityContext?.fsGroup as number | undefined;
  const volumes = new Map<string, { hostPath: string; readOnly: boolean }>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    const at = `spec.volumes[${i}]`;
    const dir = await mkdtemp(path.join(root, `${v.name}-`));
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    if (kinds.length !== 1) throw new UnsupportedPodFieldError(at, `want one volume source, found ${kinds.join(', ')}`);
    const kind = kinds[0]!;
    if (kind === 'emptyDir') {
      for (const k of Object.keys(v.emptyDir ?? {}))
        if (k !== 'sizeLimit') throw new UnsupportedPodFieldError(`${at}.emptyDir.${k}`, 'not supported');
      // As the kubelet makes it: 0777; with fsGroup, owned by that group and setgid.
      if (fsGroup !== undefined) await chown(dir, 0, fsGroup);
      await chmod(dir, fsGroup !== undefined ? 0o2777 : 0o777);
      volumes.set(v.name, { hostPath: dir, readOnly: false });
    } else if (kind === 'secret' || kind === 'configMap') {
      const src = v[kind];
      const objectName = kind === 'secret' ? src.secretName : src.name;
      for (const k of Object.keys(src))
        if (!['secretName', 'name', 'defaultMode', 'optional'].includes(k))
          throw new UnsupportedPodFieldError(`${at}.${kind}.${k}`, 'not supported');
      const data = (kind === 'secret' ? o.secrets : o.configMaps)?.[objectName];
      if (!data && !src.optional) throw new UnsupportedPodFieldError(`${at}.${kind}`, `${objectName} was not given`);
      const mode = src.defaultMode ?? 0o644;
      for (const [key, value] of Object.entries(data ?? {})) {
        const file = path.join(dir, key);
        await writeFile(file, value);
        if (fsGroup !== undefined) await chown(file, 0, fsGroup);
        await chmod(file, mode);
      }
      await chmod(dir, 0o755);
      volumes.set(v.name, { hostPath: dir, readOnly: true });
    } else throw new UnsupportedPodFieldError(`${at}.${kind}`, 'not supported by the pod runner');
  }
  return volumes;
}

/** Waits for a sidecar's startupProbe (exec only) to pass, as the kubelet does before starting the next container. */
async function waitForStartup(docker: Docker, id: string, probe: any, at: string): Promise<void> {
  if (probe === undefined) return;
  if (!probe.exec) throw new UnsupportedPodFieldError(`${at}.startupProbe`, 'only exec probes are run');
  const period = (probe.periodSeconds ?? 10) * 1000;
  const threshold = probe.failureThreshold ?? 3;
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  await new Promise((r) => setTimeout(r, (probe.initialDelaySeconds ?? 0) * 1000));
  let last = '';
  for (let failures = 0; failures < threshold; failures++) {
    if (!(await docker.getContainer(id).inspect()).State.Running) throw new Error(`${at} exited while starting`);
    const result = await Promise.race([
      execIn(docker, id, probe.exec.command),
      new Promise<{ exitCode: number; output: string }>((r) =>
        setTimeout(() => r({ exitCode: -1, output: `probe timed out after ${timeoutMs} ms` }), timeoutMs),
      ),
    ]);
    if (result.exitCode === 0) return;
    last = result.output;
    await new Promise((r) => setTimeout(r, period));
  }
  throw new Error(`${at}.startupProbe failed ${threshold} times; last: ${last}`);
}

/**
 * Runs the pod: its volumes, the pause container, the init containers (native sidecars started
 * in order, each behind its startupProbe; plain ones run to completion) and then the main
 * containers. Everything is removed when the test ends.
 */
export async function runPod(t: Teardowns, o: PodRunnerOptions, pod: PodToRun): Promise<RunningPod> {
  const { spec } = pod;
  checkPodSpec(spec);
  const saName = spec.serviceAccountName ?? 'default';
  const sa = o.serviceAccounts?.find((s) => s.metadata.name === saName);
  if ((spec.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true) !== false)
    throw new UnsupportedPodFieldError('spec.automountServiceAccountToken', 'no API server here to issue a token');
  const volumes = await makeVolumes(t, spec, o);
  const docker = o.docker;
  const created: string[] = [];
  t.teardown(async () => {
    for (const id of created.reverse())
      await docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => {});
  });

  const prefix = `${o.network.name}-${pod.name}`;
  const pause = await docker.createContainer({
    name: `${prefix}-pause`,
    Image: o.pauseImage,
    Entrypoint: ['sleep'],
    Cmd: ['2147483647'],
    Hostname: pod.name,
    HostConfig: {
      NetworkMode: o.network.name,
      IpcMode: 'shareable',
      ExtraHosts: (pod.services ?? []).flatMap(({ service, backend }) =>
        backend === 'self' ? [] : Object.entries(serviceHosts(service, backend)).map(([h, ip]) => `${h}:${ip}`),
      ),
    },
  });
  created.push(pause.id);
  await pause.start();
  const ip = (await pause.inspect()).NetworkSettings.Networks[o.network.name]?.IPAddress;
  if (!ip) throw new Error(`pod ${pod.name} got no address on ${o.network.name}`);

  const identity: PodIdentity = {
    name: pod.name,
    namespace: pod.namespace,
    uid: randomUUID(),
    nodeName: o.nodeName,
    serviceAccountName: saName,
    podIP: ip,
    hostIP: o.network.gateway,
    labels: pod.metadata?.labels ?? {},
    annotations: pod.metadata?.annotations ?? {},
  };
  // The API server's Service links are always there (whatever enableServiceLinks says); here
  // they name an address where nothing answers.
  const baseEnv = serviceLinkEnv(
    { metadata: { name: 'kubernetes' }, spec: { ports: [{ name: 'https', port: 443 }] } },
    API_SERVER_STANDIN,
  );
  if (spec.enableServiceLinks !== false)
    for (const { service, backend } of pod.services ?? [])
      if ((service.metadata.namespace ?? 'default') === pod.namespace)
        for (const [k, v] of serviceLinkEnv(service, backend === 'self' ? ip : backend.ip)) baseEnv.set(k, v);
  const containers: RunContainer[] = [];
  const deviations: string[] = [];
  const start = async (c: any, at: string, sidecar: boolean) => {
    const image = o.images[c.image];
    if (!image) throw new UnsupportedPodFieldError(`${at}.image`, `no local image given for ${c.image}`);
    const imageUser = (await docker.getImage(image).inspect()).Config.User ?? '';
    const config = containerConfig({
      container: c,
      at,
      spec,
      image,
      imageUser,
      pod: identity,
      pause: pause.id,
      volumes,
      secrets: o.secrets ?? {},
      configMaps: o.configMaps ?? {},
      baseEnv,
    });
    let container = await docker.createContainer({ name: `${prefix}-${c.name}`, ...config });
    created.push(container.id);
    try {
      await container.start();
    } catch (err) {
      if (!config.HostConfig.Privileged || !/unable to apply caps/.test((err as Error).message)) throw err;
      await container.remove({ force: true });
      container = await docker.createContainer({ name: `${prefix}-${c.name}`, ...privilegedStandIn(config) });
      created.push(container.id);
      await container.start();
      deviations.push(
        `${at} (${c.name}): privileged containers cannot start on this dockerd; ran with privilegedStandIn`,
      );
    }
    containers.push({ name: c.name, id: container.id, sidecar });
    return container;
  };
  const running = new RunningPod(docker, pod.name, ip, spec, identity.labels, pause.id, containers, deviations);
  try {
    for (const [i, c] of (spec.initContainers ?? []).entries()) {
      const at = `spec.initContainers[${i}]`;
      const container = await start(c, at, c.restartPolicy === 'Always');
      if (c.restartPolicy === 'Always') await waitForStartup(docker, container.id, c.startupProbe, at);
      else {
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        if (StatusCode !== 0) throw new Error(`${at} (${c.name}) exited ${StatusCode}`);
      }
    }
    for (const [i, c] of (spec.containers ?? []).entries()) await start(c, `spec.containers[${i}]`, false);
  } catch (err) {
    if (err instanceof UnsupportedPodFieldError) throw err;
    throw new Error(`pod ${pod.name}: ${(err as Error).message}\n${await running.allLogs()}`, { cause: err });
  }
  return running;
}
