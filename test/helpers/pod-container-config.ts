/**
 * The pure half of the pod runner (pod-runner.ts): a rendered PodSpec's fields checked against
 * what the runner can do, and each container turned into a `docker create` configuration the
 * way the kubelet and a CRI runtime would set it up. Whatever it cannot honour throws
 * UnsupportedPodFieldError naming the field, so a test never runs something else than rendered.
 */

/** A PodSpec field (or value) the runner cannot honour; `field` is its path in the PodSpec. */
export class UnsupportedPodFieldError extends Error {
  readonly reason = 'UnsupportedPodField';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'UnsupportedPodFieldError';
  }
}

/** What a pod's `valueFrom.fieldRef` and the Downward API see of it. */
export interface PodIdentity {
  name: string;
  namespace: string;
  uid: string;
  nodeName: string;
  serviceAccountName: string;
  podIP: string;
  hostIP: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Secrets and ConfigMaps by name, each a map of key to (decoded) value. */
export type Objects = Record<string, Record<string, string>>;

/** The `docker create` body of one container (the subset of Docker's API the runner sets). */
export interface DockerContainerConfig {
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Env: string[];
  User?: string;
  HostConfig: {
    NetworkMode: string;
    IpcMode: string;
    Binds: string[];
    GroupAdd?: string[];
    ReadonlyRootfs: boolean;
    CapAdd?: string[];
    CapDrop?: string[];
    Privileged: boolean;
    SecurityOpt: string[];
    MaskedPaths?: string[];
    ReadonlyPaths?: string[];
  };
}

/**
 * What `privileged: true` gives that a dockerd-in-a-container needs, for a Docker daemon that
 * cannot start privileged containers (its host lacks a capability, here CAP_SYS_RESOURCE, so
 * runc fails "unable to apply caps"): every capability that host has, no seccomp or AppArmor,
 * no masked or read-only /proc paths, and the cgroup hierarchies writable. Not all of
 * privileged: the host's devices are not added.
 */
export function privilegedStandIn(config: DockerContainerConfig): DockerContainerConfig {
  return {
    ...config,
    HostConfig: {
      ...config.HostConfig,
      Privileged: false,
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: [...config.HostConfig.SecurityOpt, 'seccomp=unconfined', 'apparmor=unconfined'],
      MaskedPaths: [],
      ReadonlyPaths: [],
      Binds: [...config.HostConfig.Binds, '/sys/fs/cgroup:/sys/fs/cgroup:rw'],
    },
  };
}

// Fields the runner reads, and fields it knowingly leaves to a real cluster (say why in the
// test's header): every other key throws.
const POD_FIELDS = new Set([
  'containers',
  'initContainers',
  'volumes',
  'securityContext',
  'terminationGracePeriodSeconds',
  'enableServiceLinks',
  'serviceAccountName',
  'automountServiceAccountToken',
  // Scheduling and pulling: nothing to run differently on one dockerd.
  'affinity',
  'nodeSelector',
  'tolerations',
  'priorityClassName',
  'imagePullSecrets',
]);
const CONTAINER_FIELDS = new Set([
  'name',
  'image',
  'imagePullPolicy',
  'command',
  'args',
  'workingDir',
  'env',
  'securityContext',
  'volumeMounts',
  'restartPolicy',
  'startupProbe',
  // Probes other than a sidecar's startupProbe, ports without hostPort and resources are
  // checked for shape only: their effect needs a kubelet (see the test's header).
  'readinessProbe',
  'livenessProbe',
  'ports',
  'resources',
]);
const POD_SECURITY_FIELDS = new Set([
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'fsGroup',
  'supplementalGroups',
  'seccompProfile',
]);
const CONTAINER_SECURITY_FIELDS = new Set([
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'readOnlyRootFilesystem',
  'allowPrivilegeEscalation',
  'capabilities',
  'privileged',
  'seccompProfile',
]);
const MOUNT_FIELDS = new Set(['name', 'mountPath', 'readOnly']);

/** Throws for the first key of `value` not in `known`. */
export function onlyKnown(value: object | undefined, known: Set<string>, at: string): void {
  for (const key of Object.keys(value ?? {}))
    if (!known.has(key)) throw new UnsupportedPodFieldError(`${at}.${key}`, 'not supported by the pod runner');
}

/** Checks the pod-level fields; throws UnsupportedPodFieldError for anything it cannot run. */
export function checkPodSpec(spec: Record<string, any>): void {
  onlyKnown(spec, POD_FIELDS, 'spec');
  onlyKnown(spec.securityContext, POD_SECURITY_FIELDS, 'spec.securityContext');
  seccompOption(spec.securityContext?.seccompProfile, 'spec.securityContext.seccompProfile');
  const all = [
    ...(spec.initContainers ?? []).map((c: any, i: number) => [c, `spec.initContainers[${i}]`] as const),
    ...(spec.containers ?? []).map((c: any, i: number) => [c, `spec.containers[${i}]`] as const),
  ];
  for (const [c, at] of all) {
    onlyKnown(c, CONTAINER_FIELDS, at);
    onlyKnown(c.securityContext, CONTAINER_SECURITY_FIELDS, `${at}.securityContext`);
    seccompOption(c.securityContext?.seccompProfile, `${at}.securityContext.seccompProfile`);
    for (const [i, m] of (c.volumeMounts ?? []).entries()) onlyKnown(m, MOUNT_FIELDS, `${at}.volumeMounts[${i}]`);
    for (const [i, p] of (c.ports ?? []).entries())
      if (p.hostPort !== undefined || p.hostIP !== undefined)
        throw new UnsupportedPodFieldError(`${at}.ports[${i}].hostPort`, 'no node ports here');
    if (c.restartPolicy !== undefined && (c.restartPolicy !== 'Always' || !at.includes('initContainers')))
      throw new UnsupportedPodFieldError(`${at}.restartPolicy`, 'only Always, on an init container (a sidecar)');
  }
}

function seccompOption(profile: { type?: string } | undefined, at: string): string[] {
  if (profile === undefined || profile.type === 'RuntimeDefault') return []; // dockerd's default profile
  if (profile.type === 'Unconfined') return ['seccomp=unconfined'];
  throw new UnsupportedPodFieldError(`${at}.type`, `${profile.type} is not supported`);
}

/**
 * Kubernetes' `$(VAR)` expansion (env values, command, args): a reference to a variable defined
 * earlier is replaced, `$$` escapes, anything else is left as written.
 */
export function expandVars(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) =>
    match === '$$' ? '$' : vars.has(name!) ? vars.get(name!)! : match,
  );
}

function fieldRef(path: string, pod: PodIdentity, at: string): string {
  const simple: Record<string, string> = {
    'metadata.name': pod.name,
    'metadata.namespace': pod.namespace,
    'metadata.uid': pod.uid,
    'spec.nodeName': pod.nodeName,
    'spec.serviceAccountName': pod.serviceAccountName,
    'status.podIP': pod.podIP,
    'status.podIPs': pod.podIP,
    'status.hostIP': pod.hostIP,
    'status.hostIPs': pod.hostIP,
  };
  if (path in simple) return simple[path]!;
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.labels : pod.annotations)[m[2]!] ?? '';
  throw new UnsupportedPodFieldError(`${at}.fieldPath`, `${path} is not supported`);
}

/**
 * The variables the kubelet gives every container for each Service of the pod's namespace
 * (enableServiceLinks, on by default): NAME_SERVICE_HOST, NAME_SERVICE_PORT[_PORTNAME],
 * NAME_PORT and NAME_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR], with `ip` as the Service's address.
 */
export function serviceLinkEnv(
  service: { metadata: { name: string }; [field: string]: any },
  ip: string,
): Map<string, string> {
  const env = new Map<string, string>();
  const prefix = service.metadata.name.toUpperCase().replace(/-/g, '_');
  const ports: any[] = service.spec.ports ?? [];
  if (ports.length === 0) return env;
  env.set(`${prefix}_SERVICE_HOST`, ip);
  env.set(`${prefix}_SERVICE_PORT`, String(ports[0].port));
  for (const p of ports)
    if (p.name) env.set(`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`, String(p.port));
  const proto = (p: any) => String(p.protocol ?? 'TCP').toLowerCase();
  env.set(`${prefix}_PORT`, `${proto(ports[0])}://${ip}:${ports[0].port}`);
  for (const p of ports) {
    const base = `${prefix}_PORT_${p.port}_${proto(p).toUpperCase()}`;
    env.set(base, `${proto(p)}://${ip}:${p.port}`);
    env.set(`${base}_PROTO`, proto(p));
    env.set(`${base}_PORT`, String(p.port));
    env.set(`${base}_ADDR`, ip);
  }
  return env;
}

/**
 * The container's environment, in order, as the kubelet resolves it: `base` (the Service links)
 * first, then the container's env, which may refer to earlier variables with $(NAME).
 */
export function resolveEnv(
  container: any,
  at: string,
  pod: PodIdentity,
  secrets: Objects,
  configMaps: Objects,
  base: Map<string, string> = new Map(),
) {
  if (container.envFrom !== undefined) throw new UnsupportedPodFieldError(`${at}.envFrom`, 'not supported');
  const vars = new Map(base);
  for (const [i, e] of (container.env ?? []).entries()) {
    const here = `${at}.env[${i}]`;
    let value: string | undefined;
    if (e.valueFrom === undefined) value = expandVars(String(e.value ?? ''), vars);
    else if (e.valueFrom.fieldRef) value = fieldRef(e.valueFrom.fieldRef.fieldPath, pod, `${here}.valueFrom.fieldRef`);
    else {
      const [kind, ref, store] = e.valueFrom.secretKeyRef
        ? (['secretKeyRef', e.valueFrom.secretKeyRef, secrets] as const)
        : e.valueFrom.configMapKeyRef
          ? (['configMapKeyRef', e.valueFrom.configMapKeyRef, configMaps] as const)
          : [undefined, undefined, undefined];
      if (!kind)
        throw new UnsupportedPodFieldError(`${here}.valueFrom`, `only fieldRef, secretKeyRef, configMapKeyRef`);
      value = store[ref.name]?.[ref.key];
      if (value === undefined && !ref.optional)
        throw new UnsupportedPodFieldError(`${here}.valueFrom.${kind}`, `${ref.name}/${ref.key} was not given`);
    }
    if (value !== undefined) vars.set(e.name, value);
  }
  return vars;
}

/** The uid of an image's USER ("" is root); undefined for a user name (the kubelet cannot check it). */
function numericUid(imageUser: string): number | undefined {
  const u = imageUser.split(':')[0] ?? '';
  return u === '' ? 0 : /^\d+$/.test(u) ? Number(u) : undefined;
}

/** The pod-level securityContext merged under the container's, as Kubernetes does. */
export function effectiveSecurity(podSc: Record<string, any> = {}, sc: Record<string, any> = {}) {
  return {
    runAsUser: (sc.runAsUser ?? podSc.runAsUser) as number | undefined,
    runAsGroup: (sc.runAsGroup ?? podSc.runAsGroup) as number | undefined,
    runAsNonRoot: (sc.runAsNonRoot ?? podSc.runAsNonRoot) as boolean | undefined,
    seccompProfile: sc.seccompProfile ?? podSc.seccompProfile,
    groups: [...(podSc.supplementalGroups ?? []), ...(podSc.fsGroup !== undefined ? [podSc.fsGroup] : [])].map(String),
  };
}

/**
 * The `docker create` body of one container. `imageUser` is the image's USER (for runAsNonRoot
 * without runAsUser); `volumes` maps a volume's name to its host folder and whether it is
 * read-only by nature (secret, configMap).
 */
export function containerConfig(o: {
  container: any;
  at: string;
  spec: Record<string, any>;
  image: string;
  imageUser: string;
  pod: PodIdentity;
  pause: string;
  volumes: Map<string, { hostPath: string; readOnly: boolean }>;
  secrets: Objects;
  configMaps: Objects;
  /** Variables every container gets before its own (the Service links). */
  baseEnv?: Map<string, string>;
}): DockerContainerConfig {
  const { container: c, at } = o;
  const vars = resolveEnv(c, at, o.pod, o.secrets, o.configMaps, o.baseEnv);
  const expand = (list: unknown[] | undefined) => list?.map((s) => expandVars(String(s), vars));
  const sec = effectiveSecurity(o.spec.securityContext, c.securityContext);
  const sc = c.securityContext ?? {};

  if (sec.runAsGroup !== undefined && sec.runAsUser === undefined)
    throw new UnsupportedPodFieldError(`${at}.securityContext.runAsGroup`, 'without runAsUser is not supported');
  const user =
    sec.runAsUser === undefined
      ? undefined
      : sec.runAsGroup === undefined
        ? String(sec.runAsUser)
        : `${sec.runAsUser}:${sec.runAsGroup}`;
  if (sec.runAsNonRoot) {
    // The kubelet refuses to start such a container (CreateContainerConfigError).
    const uid = sec.runAsUser ?? numericUid(o.imageUser);
    if (uid === undefined || uid === 0)
      throw new UnsupportedPodFieldError(
        `${at}.securityContext.runAsNonRoot`,
        `the container would run as ${uid === 0 ? 'root' : `the non-numeric image user ${o.imageUser}`}`,
      );
  }

  const binds: string[] = [];
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    const v = o.volumes.get(m.name);
    if (!v) throw new UnsupportedPodFieldError(`${at}.volumeMounts[${i}].name`, `no volume ${m.name}`);
    binds.push(`${v.hostPath}:${m.mountPath}:${m.readOnly || v.readOnly ? 'ro' : 'rw'}`);
  }

  const securityOpt = seccompOption(sec.seccompProfile, `${at}.securityContext.seccompProfile`);
  if (sc.allowPrivilegeEscalation === false) securityOpt.push('no-new-privileges');
  return {
    Image: o.image,
    // command replaces the ENTRYPOINT (and with it the image's CMD); args replace the CMD.
    Entrypoint: expand(c.command),
    Cmd: expand(c.args),
    WorkingDir: c.workingDir,
    Env: [...vars].map(([k, v]) => `${k}=${v}`),
    User: user,
    HostConfig: {
      NetworkMode: `container:${o.pause}`,
      IpcMode: `container:${o.pause}`,
      Binds: binds,
      GroupAdd: sec.groups.length > 0 ? sec.groups : undefined,
      ReadonlyRootfs: sc.readOnlyRootFilesystem === true,
      CapAdd: sc.capabilities?.add,
      CapDrop: sc.capabilities?.drop,
      Privileged: sc.privileged === true,
      SecurityOpt: securityOpt,
    },
  };
}
