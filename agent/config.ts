import { isIP } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_AGENT_CONCURRENCY, agentNameProblem } from '../common/agent-name.js';
import type { FieldError } from '../common/errors.js';
import { labelKeyProblem, labelValueProblem, parseLabels } from '../common/labels.js';
import { natsCredentialErrors } from '../common/nats/connect.js';
import { parseQuantity } from '../common/quantity.js';
import { hostPortProblem, registryHostsProblem, setTogether } from '../common/settings/checks.js';
import { boolean, choice, custom, file, integer, list, text, type ConfigOf } from '../common/settings/setting.js';
import { defaultsOf, envNames, resolveSettings, settingsFromEnv } from '../common/settings/settings.js';
import { logLevel, natsCredsFile, natsPassword, natsServers, natsUser } from '../common/settings/shared.js';
import { parseCapacity, parseThreshold, thresholdValue, type Threshold } from './gc/thresholds.js';

const quantityProblem = (v: string) =>
  v && !((parseQuantity(v) ?? 0) > 0) ? `"${v}" is not a positive Kubernetes quantity` : undefined;
const thresholdProblem = (v: string) => {
  const t = parseThreshold(v);
  return typeof t === 'string' ? t : undefined;
};
const labels = custom<Record<string, string>>(
  'key=value,...',
  { type: 'object', additionalProperties: { type: 'string' } },
  (t) => {
    const { labels, problems } = parseLabels(t);
    return problems.length > 0 ? { problem: problems.join('; ') } : { value: labels };
  },
  {
    env: 'SLIPWAY_NODE_LABELS',
    default: {},
    check: (v) =>
      Object.entries(v)
        .map(([k, value]) => labelKeyProblem(k) ?? labelValueProblem(value))
        .find(Boolean),
    doc: "Labels advertised for placement besides its Node's (which win), for agents that do not read their Node. The machine's own kubernetes.io/os and kubernetes.io/arch are advertised unless these set them.",
    chart: 'agent.nodeLabels',
  },
);

/** Everything the agent can be told, declared once; docs/settings.md is made from it. */
export const AGENT_SETTINGS = {
  natsServers,
  /**
   * host:port of the coordinators' AgentService (their agent port when they have one): one
   * address (a host name may resolve to several), or several IP addresses, between which the
   * agent's calls are spread and which it leaves while one does not answer.
   */
  coordinators: list({
    env: 'SLIPWAY_COORDINATOR_ADDR',
    default: ['127.0.0.1:7070'],
    check: (v) => coordinatorAddressErrors(v)[0]?.message,
    doc: "host:port of the coordinators' AgentService: one (a name may resolve to several), or several IP addresses.",
    chart: "the coordinators' Service",
  }),
  /**
   * TLS to the coordinator: the CA its serving certificate is checked against, and the agent's
   * client certificate and key (signed by the coordinator's client CA, naming this agent as
   * CN or DNS subjectAltName). Empty CA: plaintext gRPC.
   */
  tlsCAFile: file({
    env: 'SLIPWAY_AGENT_TLS_CA',
    default: '',
    doc: "CA the coordinator's serving certificate is checked against; unset: plaintext gRPC.",
    chart: 'grpcTls.ca',
  }),
  tlsCertFile: file({
    env: 'SLIPWAY_AGENT_TLS_CERT',
    default: '',
    doc: "The agent's client certificate (naming it as CN or DNS SAN), with its key.",
    chart: 'agentMtls (csi-driver, per Pod)',
  }),
  tlsKeyFile: file({
    env: 'SLIPWAY_AGENT_TLS_KEY',
    default: '',
    doc: "The key of the agent's client certificate.",
    chart: 'agentMtls (csi-driver, per Pod)',
  }),
  /** NATS user and password, or a creds file; empty: none. Never logged. */
  natsUser,
  natsPassword,
  natsCredsFile,
  /** The Docker daemon the `host` executor uses: unix:///var/run/docker.sock or tcp://host:port. */
  dockerHost: text({
    env: 'SLIPWAY_DOCKER_HOST',
    default: 'unix:///var/run/docker.sock',
    check: (v) =>
      /^(unix:\/\/\/.+|tcp:\/\/[^\s]+:\d+)$/.test(v) ? undefined : `"${v}" is not unix:///path or tcp://host:port`,
    doc: 'The Docker daemon the host executor uses: unix:///path or tcp://host:port.',
    chart: 'agent.host.dockerSocket, or the dind sidecar',
  }),
  /**
   * For host: the daemon at dockerHost is Slipway's alone (a dind sidecar of the agent's Pod),
   * not the node's shared one. Image GC then removes any image no build or container uses (base
   * images too) and stopped containers that are not builds', as on the dind executor's daemons.
   */
  dockerPrivate: boolean({
    env: 'SLIPWAY_DOCKER_PRIVATE',
    default: false,
    doc: "host: the daemon at SLIPWAY_DOCKER_HOST is Slipway's alone (a dind sidecar); GC may remove any image on it no build uses.",
    chart: 'agent.mode=dind',
  }),
  /** host: the node's daemon (dockerHost); dind: private daemons the agent runs. */
  executor: choice(['host', 'dind'], {
    env: 'SLIPWAY_EXECUTOR',
    default: 'host',
    noun: 'executor',
    doc: "host: the node's daemon (SLIPWAY_DOCKER_HOST); dind: private daemons the agent runs.",
    chart: 'host',
  }),
  /** For dind: a daemon per build (destroyed after) or one per agent (reused, supervised). */
  dindMode: choice(['per-build', 'per-agent'], {
    env: 'SLIPWAY_DIND_MODE',
    default: 'per-build',
    doc: 'dind: a daemon per build (destroyed after) or one per agent (reused).',
  }),
  /**
   * For dind: `remap` runs builds in a user namespace (`dockerd --userns-remap=default`): root
   * in a RUN step is an unprivileged uid of the `dockremap` user's range in /etc/subuid on the
   * node. The node needs that user and its ranges, or useradd for dockerd to make them.
   * `rootless`: each daemon runs under rootlesskit as an unprivileged user (the agent itself,
   * or SLIPWAY_DIND_ROOTLESS_USER when the agent is root): dockerd, containerd and every RUN
   * step, none of them root on the node; the node needs that user's subordinate ranges,
   * newuidmap/newgidmap and rootlesskit, and Dockerfile builds with resources go to other
   * agents (these daemons are held to no cgroup). `off`: builds run as
   * the node's root; only for a node whose builds need what a user namespace forbids. The
   * chart's dind sidecar takes remap or off from agent.dind.usernsRemap.
   */
  dindUserns: choice(['remap', 'off', 'rootless'], {
    env: 'SLIPWAY_DIND_USERNS',
    default: 'remap',
    doc: "dind: remap runs builds in a user namespace (root in a RUN step is a uid of dockremap's /etc/subuid range); rootless: the daemons run as an unprivileged user (no root in a build's process tree); off: as the node's root. The chart's sidecar: agent.dind.usernsRemap.",
  }),
  /**
   * For dind with `rootless`, when the agent runs as root: the user of /etc/passwd its daemons
   * run as, with ranges in /etc/subuid and /etc/subgid. An agent that is not root runs them as itself.
   */
  dindRootlessUser: text({
    env: 'SLIPWAY_DIND_ROOTLESS_USER',
    default: 'slipway-rootless',
    doc: 'dind, rootless, agent run as root: the user its daemons run as (needs /etc/subuid and /etc/subgid ranges).',
  }),
  /** For dind: where the private daemons' folders go (short: socket paths are limited). */
  dindRoot: text({
    env: 'SLIPWAY_DIND_ROOT',
    default: '/tmp/slipway-dind',
    check: (v) => (v.length > 40 ? 'must be at most 40 characters: unix socket paths under it are limited' : undefined),
    doc: "dind: where the private daemons' folders go (at most 40 characters).",
  }),
  /**
   * The git-lfs binary that fetches the content of a git source's LFS files. Where it cannot be
   * run, a build whose source has LFS files fails with GitLfsUnavailable (never builds with the
   * pointer files).
   */
  gitLfs: text({
    env: 'SLIPWAY_GIT_LFS',
    default: 'git-lfs',
    doc: 'The git-lfs binary for sources with LFS files; without one such builds fail with GitLfsUnavailable.',
  }),
  /**
   * Registries (host[:port]) the agent speaks to itself over plain HTTP besides loopback ones:
   * where a platform build pushes by digest (the daemon's own pushes follow its own settings).
   */
  insecureRegistries: list({
    env: 'SLIPWAY_INSECURE_REGISTRIES',
    default: [],
    check: registryHostsProblem,
    doc: "Registries (host[:port]) the agent itself pushes to over plain HTTP besides loopback ones: a platform build's push by digest (the daemon's pushes follow the daemon's --insecure-registry).",
  }),
  /** For dind: the dockerd binary. */
  dockerd: text({ env: 'SLIPWAY_DOCKERD', default: 'dockerd', doc: 'dind: the dockerd binary.' }),
  /** For dind: registry mirrors for Docker Hub images (the node's caching proxy). */
  registryMirrors: list({
    env: 'SLIPWAY_REGISTRY_MIRRORS',
    default: [],
    doc: "dind: registry mirrors for Docker Hub images (the node's caching proxy).",
  }),
  /** Unique among agents; reports are fenced by it. */
  name: text({
    env: 'SLIPWAY_AGENT_NAME',
    default: () => `agent-${hostname()}`,
    defaultText: 'agent-<host name>',
    check: agentNameProblem,
    doc: 'Unique among agents; reports are fenced by it.',
    chart: 'the Node name (the Pod name with agentMtls)',
  }),
  node: text({
    env: 'SLIPWAY_NODE_NAME',
    default: () => hostname(),
    defaultText: '<host name>',
    doc: 'The Node the agent runs on.',
    chart: 'the Node name',
  }),
  /** Builds this agent runs at once. */
  concurrency: integer({
    env: 'SLIPWAY_AGENT_CONCURRENCY',
    default: 2,
    min: 1,
    max: MAX_AGENT_CONCURRENCY,
    doc: 'Builds this agent runs at once.',
    chart: 'agent.concurrency',
  }),
  /**
   * Labels advertised for placement besides its Node's (which win): `key=value,...`. For agents
   * that do not read their Node (no Kubernetes API), and for tests.
   */
  nodeLabels: labels,
  /** CPU its builds' resources may take (a Kubernetes quantity); empty: the machine's CPUs. */
  cpu: text({
    env: 'SLIPWAY_AGENT_CPU',
    default: '',
    defaultText: "the machine's CPUs",
    check: quantityProblem,
    doc: "CPU its builds' resources may take (a Kubernetes quantity).",
    chart: 'agent.cpu',
  }),
  /** Memory its builds' resources may take (a Kubernetes quantity); empty: the machine's memory. */
  memory: text({
    env: 'SLIPWAY_AGENT_MEMORY',
    default: '',
    defaultText: "the machine's memory",
    check: quantityProblem,
    doc: "Memory its builds' resources may take (a Kubernetes quantity).",
    chart: 'agent.memory',
  }),
  /** Where build folders (source checkouts) are made. */
  workDir: text({
    env: 'SLIPWAY_AGENT_WORK_DIR',
    default: () => path.join(tmpdir(), 'slipway-agent'),
    defaultText: '<tmp>/slipway-agent',
    doc: 'Where build folders (source checkouts) are made.',
    chart: '/var/lib/slipway/work',
  }),
  /** How long a pull for a job waits before asking again. */
  pullExpiresMs: integer({ default: 5000, min: 1, doc: 'How long a pull for a job waits before asking again.' }),
  /** How often the agent tells the coordinator it is alive (and learns what to stop). */
  heartbeatIntervalMs: integer({
    env: 'SLIPWAY_HEARTBEAT_INTERVAL_MS',
    default: 2000,
    min: 100,
    doc: 'How often the agent tells the coordinator it is alive (and learns what to stop).',
    chart: 'agent.heartbeatIntervalMs',
  }),
  /** On SIGTERM, how long running builds may go on before they are stopped. */
  drainTimeoutMs: integer({
    env: 'SLIPWAY_DRAIN_TIMEOUT_MS',
    default: 60_000,
    min: 0,
    doc: 'On SIGTERM, how long running builds may go on before they are stopped.',
    chart: 'agent.drainTimeoutMs',
  }),
  /** Most bytes an uploaded context may unpack to; more fails the build with InvalidContext. */
  maxContextBytes: integer({
    env: 'SLIPWAY_AGENT_MAX_CONTEXT_BYTES',
    default: 2 * 1024 ** 3,
    min: 1,
    doc: 'Most bytes an uploaded context may unpack to (more: InvalidContext).',
    chart: 'agent.maxContextBytes',
  }),
  /** Most entries an uploaded context may hold; more fails the build with ContextTooManyEntries. */
  maxContextEntries: integer({
    env: 'SLIPWAY_AGENT_MAX_CONTEXT_ENTRIES',
    default: 100_000,
    min: 1,
    doc: 'Most entries an uploaded context may hold (more: ContextTooManyEntries).',
    chart: 'agent.maxContextEntries',
  }),
  /**
   * Most bytes a compressed uploaded context may unpack to per byte uploaded (past the first
   * 16 MiB); more fails the build with ContextRatioTooHigh.
   */
  maxContextRatio: integer({
    env: 'SLIPWAY_AGENT_MAX_CONTEXT_RATIO',
    default: 100,
    min: 1,
    doc: 'Most bytes unpacked per byte uploaded, past the first 16 MiB (more: ContextRatioTooHigh).',
    chart: 'agent.maxContextRatio',
  }),
  /**
   * Image GC on the host executor's daemon or the per-agent private daemon: above the high
   * threshold, images go until usage is at the low one. "85%" of the image filesystem (or of
   * gcCapacity), or bytes of image layers and build cache ("20Gi"); both of the same kind.
   */
  gcHighThreshold: text({
    env: 'SLIPWAY_GC_HIGH_THRESHOLD',
    default: '85%',
    check: thresholdProblem,
    doc: 'Image GC starts above this: "85%" of the image filesystem (or SLIPWAY_GC_CAPACITY), or bytes of layers and build cache ("20Gi").',
    chart: 'agent.gc.highThreshold',
  }),
  gcLowThreshold: text({
    env: 'SLIPWAY_GC_LOW_THRESHOLD',
    default: '80%',
    check: thresholdProblem,
    doc: 'Image GC removes images down to this (the same kind as the high threshold).',
    chart: 'agent.gc.lowThreshold',
  }),
  /** Images and stopped build containers younger than this stay. */
  gcMinAgeMs: integer({
    env: 'SLIPWAY_GC_MIN_AGE_MS',
    default: 120_000,
    min: 0,
    doc: 'Images and stopped build containers younger than this stay.',
    chart: 'agent.gc.minAgeMs',
  }),
  /** How often GC runs on its own (it also runs after every build); 0 turns GC off. */
  gcIntervalMs: integer({
    env: 'SLIPWAY_GC_INTERVAL_MS',
    default: 300_000,
    min: 0,
    check: (v) => (v === 0 || v >= 1000 ? undefined : 'must be 0 (GC off) or at least 1000'),
    doc: 'How often GC runs on its own (also after every build); 0 turns GC off.',
    chart: 'agent.gc.intervalMs',
  }),
  /** Images (references or ids) GC never removes. */
  gcPinnedImages: list({
    env: 'SLIPWAY_GC_PINNED_IMAGES',
    default: [],
    doc: 'Images (references or ids) GC never removes.',
    chart: 'agent.gc.pinnedImages',
  }),
  /**
   * What percentage thresholds are of, in bytes (a quantity: the size limit of the volume a
   * private daemon stores in); usage is then everything the daemon holds by `system df` (layers,
   * containers, build cache, volumes) rather than the filesystem's used blocks. Empty: the
   * image filesystem (gcFilesystem). Not with byte thresholds or gcFilesystem (refused).
   */
  gcCapacity: text({
    env: 'SLIPWAY_GC_CAPACITY',
    default: '',
    defaultText: "the image filesystem's size",
    check: (v) => {
      const bytes = v ? parseCapacity(v) : 0;
      return typeof bytes === 'string' ? bytes : undefined;
    },
    doc: 'What percentage thresholds are of ("50Gi": a private daemon\'s volume limit), against all the daemon holds (system df).',
    chart: 'agent.dind.storageSizeLimit',
  }),
  /** For percentage thresholds without gcCapacity: a path on the image filesystem; empty: the daemon's data root. */
  gcFilesystem: text({
    env: 'SLIPWAY_GC_FILESYSTEM',
    default: '',
    defaultText: "the daemon's data root",
    doc: 'For percentage thresholds without SLIPWAY_GC_CAPACITY: a path on the image filesystem.',
    chart: 'agent.host.dataRoot',
  }),
  /** host:port to serve Prometheus metrics at /metrics on; empty: none. */
  metricsListen: text({
    env: 'SLIPWAY_METRICS_ADDR',
    default: '',
    check: hostPortProblem,
    doc: 'host:port to serve Prometheus metrics at /metrics (and GET /healthz) on; unset: none.',
    chart: 'agent.metrics.port (on loopback when agent.metrics.enabled is false)',
  }),
  /**
   * The node cache's metrics (http://host:port/metrics of node-cache's SLIPWAY_METRICS_ADDR):
   * its blob hits and misses go into heartbeats and the agent's metrics. Empty: not read.
   */
  nodeCacheMetricsUrl: text({
    env: 'SLIPWAY_NODE_CACHE_METRICS_URL',
    default: '',
    check: (v) => (v ? metricsUrlProblem(v) : undefined),
    doc: "The node cache's metrics URL (http://host:port/metrics): its hits and misses go into heartbeats; unset: not read.",
    chart: 'nodeCache.metricsPort',
  }),
  /**
   * Read the agent's Node (`node`) from the Kubernetes API: claim nothing while it is cordoned,
   * and advertise its labels, which builds' nodeSelectors are matched against. Off: no labels,
   * never cordoned, so builds with a nodeSelector never run on this agent.
   */
  kubeNode: boolean({
    env: 'SLIPWAY_KUBE_NODE',
    default: false,
    doc: "Read the agent's Node from the Kubernetes API: not claiming while cordoned, advertising its labels.",
    chart: 'agent.kubeNode',
  }),
  /** With kubeNode: a kubeconfig file to reach the API with; empty: the Pod's service account. */
  kubeconfig: text({
    env: 'SLIPWAY_KUBECONFIG',
    default: '',
    doc: "With SLIPWAY_KUBE_NODE: a kubeconfig file to reach the API with; unset: the Pod's service account.",
  }),
  logLevel,
};

/** The agent's settings, resolved: one field per declaration above. */
export type AgentConfig = ConfigOf<typeof AGENT_SETTINGS>;

/** Environment variables the agent reads (and the chart sets), by config field. */
export const AGENT_ENV = envNames(AGENT_SETTINGS);

export function defaultAgentConfig(): AgentConfig {
  return defaultsOf(AGENT_SETTINGS);
}

/** The settings the environment gives; unset variables give nothing, so defaults stay. @throws InvalidInputError on an empty or malformed one. */
export function agentConfigFromEnv(env: NodeJS.ProcessEnv): Partial<AgentConfig> {
  return settingsFromEnv(AGENT_SETTINGS, env, 'agent configuration');
}

/** Defaults, then `overrides`, checked once. @throws InvalidInputError naming the setting. */
export function resolveAgentConfig(overrides: Partial<AgentConfig>): AgentConfig {
  return resolveSettings(AGENT_SETTINGS, overrides, 'agent configuration', (c) => [
    ...gcThresholdErrors(c),
    ...crossErrors(c),
    ...natsCredentialErrors(c, AGENT_ENV),
  ]);
}

/** The private flag, TLS and the Node's kubeconfig: settings that do not fit together. */
function crossErrors(c: AgentConfig): FieldError[] {
  const e = AGENT_ENV;
  const errors: FieldError[] = [];
  if (c.dockerPrivate && c.executor !== 'host')
    errors.push({
      field: e.dockerPrivate,
      message: `is only used with ${e.executor}=host (dind's daemons are private)`,
    });
  if (c.kubeconfig && c.kubeNode !== true)
    errors.push({ field: e.kubeconfig, message: `is only used with ${e.kubeNode}=true` });
  errors.push(...setTogether([e.tlsCertFile, c.tlsCertFile], [e.tlsKeyFile, c.tlsKeyFile]));
  if (c.tlsCertFile && !c.tlsCAFile)
    errors.push({
      field: e.tlsCAFile,
      message: `is required with ${e.tlsCertFile} (the coordinator's certificate must be checked)`,
    });
  return errors;
}

/** What is wrong with a URL to read Prometheus metrics from, or undefined. */
function metricsUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL (http://host:port/metrics)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http or https URL, got ${url.protocol}`;
  // The URL is logged when it cannot be read: it must carry no secret.
  if (url.username || url.password) return 'must not carry credentials';
  return undefined;
}

/** The GC thresholds, parsed. Call only on a resolved config (they were checked there). */
export function gcThresholds(c: AgentConfig): { high: Threshold; low: Threshold } {
  return { high: parseThreshold(c.gcHighThreshold) as Threshold, low: parseThreshold(c.gcLowThreshold) as Threshold };
}

/** The GC capacity in bytes; undefined when unset. Call only on a resolved config. */
export function gcCapacityBytes(c: AgentConfig): number | undefined {
  return c.gcCapacity ? (parseCapacity(c.gcCapacity) as number) : undefined;
}

/** The GC thresholds and capacity (each checked by its declaration) that do not fit together. */
function gcThresholdErrors(c: AgentConfig): FieldError[] {
  const { high, low } = gcThresholds(c);
  const e = AGENT_ENV;
  const errors: FieldError[] = [];
  if (c.gcCapacity && 'bytes' in high)
    errors.push({
      field: e.gcCapacity,
      message: `is what percentage thresholds are of; ${e.gcHighThreshold} is a number of bytes (give percentages, or unset ${e.gcCapacity})`,
    });
  if (c.gcCapacity && c.gcFilesystem)
    errors.push({
      field: e.gcFilesystem,
      message: `cannot be set with ${e.gcCapacity}: percentages are of the capacity (unset one of them)`,
    });
  if ('percent' in high !== 'percent' in low) {
    errors.push({
      field: AGENT_ENV.gcLowThreshold,
      message: `must be of the same kind as ${AGENT_ENV.gcHighThreshold} (both percentages or both bytes)`,
    });
  } else if (thresholdValue(low) > thresholdValue(high)) {
    errors.push({ field: AGENT_ENV.gcLowThreshold, message: `must not be above ${AGENT_ENV.gcHighThreshold}` });
  }
  return errors;
}

/**
 * What is wrong with a list of coordinator addresses. Several must be IP addresses (grpc-js
 * takes a list of those as one target, `ipv4:a:p,b:p`); host names go alone: one name that
 * resolves to every coordinator (a headless Service) does the same.
 */
export function coordinatorAddressErrors(addresses: string[]): FieldError[] {
  const field = AGENT_ENV.coordinators;
  if (addresses.length === 0) return [{ field, message: 'must name at least one coordinator (host:port)' }];
  const errors: FieldError[] = [];
  for (const a of addresses) if (!/^[^\s,]+:\d+$/.test(a)) errors.push({ field, message: `"${a}" is not host:port` });
  if (errors.length === 0 && addresses.length > 1) {
    const families = new Set(addresses.map((a) => ipFamily(a)));
    if (families.has(undefined))
      errors.push({
        field,
        message: `several coordinators must be given as IP addresses (got ${addresses.join(',')}); for host names give one name that resolves to all of them`,
      });
    else if (families.size > 1)
      errors.push({ field, message: `several coordinators must all be IPv4 or all IPv6 (got ${addresses.join(',')})` });
  }
  return errors;
}

/** 4 or 6 for an `ip:port` / `[ip6]:port` address, undefined for a host name. */
export function ipFamily(address: string): 4 | 6 | undefined {
  const host = address.slice(0, address.lastIndexOf(':'));
  if (/^\[[0-9a-fA-F:.]+\]$/.test(host) && isIP(host.slice(1, -1)) === 6) return 6;
  return isIP(host) === 4 ? 4 : undefined;
}
