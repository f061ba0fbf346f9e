import { isIP } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_AGENT_CONCURRENCY, agentNameProblem } from '../common/agent-name.js';
import { InvalidInputError, type FieldError } from '../common/errors.js';
import { labelKeyProblem, labelValueProblem, parseLabels } from '../common/labels.js';
import { parseQuantity } from '../common/quantity.js';
import { missingFiles, parseBoolean, setTogether } from '../common/settings/checks.js';
import type { LogLevel } from '../common/log.js';
import { natsCredentialErrors } from '../common/nats/connect.js';
import { parseThreshold, thresholdValue, type Threshold } from './gc/image-gc.js';

/** Environment variables the agent reads (and the chart sets): all of them, here. */
export const AGENT_ENV = {
  natsUrl: 'SLIPWAY_NATS_URL',
  coordinator: 'SLIPWAY_COORDINATOR_ADDR',
  dockerHost: 'SLIPWAY_DOCKER_HOST',
  executor: 'SLIPWAY_EXECUTOR',
  name: 'SLIPWAY_AGENT_NAME',
  node: 'SLIPWAY_NODE_NAME',
  concurrency: 'SLIPWAY_AGENT_CONCURRENCY',
  nodeLabels: 'SLIPWAY_NODE_LABELS',
  cpu: 'SLIPWAY_AGENT_CPU',
  memory: 'SLIPWAY_AGENT_MEMORY',
  workDir: 'SLIPWAY_AGENT_WORK_DIR',
  heartbeatIntervalMs: 'SLIPWAY_HEARTBEAT_INTERVAL_MS',
  drainTimeoutMs: 'SLIPWAY_DRAIN_TIMEOUT_MS',
  maxContextBytes: 'SLIPWAY_AGENT_MAX_CONTEXT_BYTES',
  maxContextEntries: 'SLIPWAY_AGENT_MAX_CONTEXT_ENTRIES',
  maxContextRatio: 'SLIPWAY_AGENT_MAX_CONTEXT_RATIO',
  dindMode: 'SLIPWAY_DIND_MODE',
  dindRoot: 'SLIPWAY_DIND_ROOT',
  dockerd: 'SLIPWAY_DOCKERD',
  registryMirrors: 'SLIPWAY_REGISTRY_MIRRORS',
  gcHighThreshold: 'SLIPWAY_GC_HIGH_THRESHOLD',
  gcLowThreshold: 'SLIPWAY_GC_LOW_THRESHOLD',
  gcMinAgeMs: 'SLIPWAY_GC_MIN_AGE_MS',
  gcIntervalMs: 'SLIPWAY_GC_INTERVAL_MS',
  gcPinnedImages: 'SLIPWAY_GC_PINNED_IMAGES',
  gcFilesystem: 'SLIPWAY_GC_FILESYSTEM',
  metricsListen: 'SLIPWAY_METRICS_ADDR',
  nodeCacheMetricsUrl: 'SLIPWAY_NODE_CACHE_METRICS_URL',
  kubeNode: 'SLIPWAY_KUBE_NODE',
  kubeconfig: 'SLIPWAY_KUBECONFIG',
  logLevel: 'SLIPWAY_LOG_LEVEL',
  tlsCert: 'SLIPWAY_AGENT_TLS_CERT',
  tlsKey: 'SLIPWAY_AGENT_TLS_KEY',
  tlsCA: 'SLIPWAY_AGENT_TLS_CA',
  natsUser: 'SLIPWAY_NATS_USER',
  natsPassword: 'SLIPWAY_NATS_PASSWORD',
  natsCreds: 'SLIPWAY_NATS_CREDS',
} as const;

export interface AgentConfig {
  natsServers: string[];
  /**
   * host:port of the coordinators' AgentService (their agent port when they have one): one
   * address (a host name may resolve to several), or several IP addresses, between which the
   * agent's calls are spread and which it leaves while one does not answer.
   */
  coordinators: string[];
  /**
   * TLS to the coordinator: the CA its serving certificate is checked against, and the agent's
   * client certificate and key (signed by the coordinator's client CA, naming this agent as
   * CN or DNS subjectAltName). Empty CA: plaintext gRPC.
   */
  tlsCAFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** NATS user and password, or a creds file; empty: none. Never logged. */
  natsUser: string;
  natsPassword: string;
  natsCredsFile: string;
  /** The Docker daemon the `host` executor uses: unix:///var/run/docker.sock or tcp://host:port. */
  dockerHost: string;
  /** host: the node's daemon (dockerHost); dind: private daemons the agent runs. */
  executor: 'host' | 'dind';
  /** For dind: a daemon per build (destroyed after) or one per agent (reused, supervised). */
  dindMode: 'per-build' | 'per-agent';
  /** For dind: where the private daemons' folders go (short: socket paths are limited). */
  dindRoot: string;
  /** For dind: the dockerd binary. */
  dockerd: string;
  /** For dind: registry mirrors for Docker Hub images (the node's caching proxy). */
  registryMirrors: string[];
  /** Unique among agents; reports are fenced by it. */
  name: string;
  node: string;
  /** Builds this agent runs at once. */
  concurrency: number;
  /**
   * Labels advertised for placement besides its Node's (which win): `key=value,...`. For agents
   * that do not read their Node (no Kubernetes API), and for tests.
   */
  nodeLabels: Record<string, string>;
  /** CPU its builds' resources may take (a Kubernetes quantity); empty: the machine's CPUs. */
  cpu: string;
  /** Memory its builds' resources may take (a Kubernetes quantity); empty: the machine's memory. */
  memory: string;
  /** Where build folders (source checkouts) are made. */
  workDir: string;
  /** How long a pull for a job waits before asking again. */
  pullExpiresMs: number;
  /** How often the agent tells the coordinator it is alive (and learns what to stop). */
  heartbeatIntervalMs: number;
  /** On SIGTERM, how long running builds may go on before they are stopped. */
  drainTimeoutMs: number;
  /** Most bytes an uploaded context may unpack to; more fails the build with InvalidContext. */
  maxContextBytes: number;
  /** Most entries an uploaded context may hold; more fails the build with ContextTooManyEntries. */
  maxContextEntries: number;
  /**
   * Most bytes a compressed uploaded context may unpack to per byte uploaded (past the first
   * 16 MiB); more fails the build with ContextRatioTooHigh.
   */
  maxContextRatio: number;
  /**
   * Image GC on the node's daemon (host) or the per-agent private daemon: above the high
   * threshold, images go until usage is at the low one. "85%" of the image filesystem, or bytes
   * of image layers ("20Gi"); both of the same kind.
   */
  gcHighThreshold: string;
  gcLowThreshold: string;
  /** Images and stopped build containers younger than this stay. */
  gcMinAgeMs: number;
  /** How often GC runs on its own (it also runs after every build); 0 turns GC off. */
  gcIntervalMs: number;
  /** Images (references or ids) GC never removes. */
  gcPinnedImages: string[];
  /** For percentage thresholds: a path on the image filesystem; empty: the daemon's data root. */
  gcFilesystem: string;
  /** host:port to serve Prometheus metrics at /metrics on; empty: none. */
  metricsListen: string;
  /**
   * The node cache's metrics (http://host:port/metrics of node-cache's SLIPWAY_METRICS_ADDR):
   * its blob hits and misses go into heartbeats and the agent's metrics. Empty: not read.
   */
  nodeCacheMetricsUrl: string;
  /**
   * Read the agent's Node (`node`) from the Kubernetes API: claim nothing while it is cordoned,
   * and advertise its labels, which builds' nodeSelectors are matched against. Off: no labels,
   * never cordoned, so builds with a nodeSelector never run on this agent.
   */
  kubeNode: boolean;
  /** With kubeNode: a kubeconfig file to reach the API with; empty: the Pod's service account. */
  kubeconfig: string;
  logLevel: LogLevel;
}

export function defaultAgentConfig(): AgentConfig {
  return {
    natsServers: ['nats://127.0.0.1:4222'],
    coordinators: ['127.0.0.1:7070'],
    tlsCAFile: '',
    tlsCertFile: '',
    tlsKeyFile: '',
    natsUser: '',
    natsPassword: '',
    natsCredsFile: '',
    dockerHost: 'unix:///var/run/docker.sock',
    executor: 'host',
    dindMode: 'per-build',
    dindRoot: '/tmp/slipway-dind',
    dockerd: 'dockerd',
    registryMirrors: [],
    name: `agent-${hostname()}`,
    node: hostname(),
    concurrency: 2,
    nodeLabels: {},
    cpu: '',
    memory: '',
    workDir: path.join(tmpdir(), 'slipway-agent'),
    pullExpiresMs: 5000,
    heartbeatIntervalMs: 2000,
    drainTimeoutMs: 60_000,
    maxContextBytes: 2 * 1024 ** 3,
    maxContextEntries: 100_000,
    maxContextRatio: 100,
    // The kubelet's defaults.
    gcHighThreshold: '85%',
    gcLowThreshold: '80%',
    gcMinAgeMs: 120_000,
    gcIntervalMs: 300_000,
    gcPinnedImages: [],
    gcFilesystem: '',
    metricsListen: '',
    nodeCacheMetricsUrl: '',
    kubeNode: false,
    kubeconfig: '',
    logLevel: 'info',
  };
}

export function agentConfigFromEnv(env: NodeJS.ProcessEnv): Partial<AgentConfig> {
  const c: Partial<AgentConfig> = {};
  const e = AGENT_ENV;
  if (env[e.natsUrl]) c.natsServers = env[e.natsUrl]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (env[e.coordinator]) c.coordinators = env[e.coordinator]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (env[e.dockerHost]) c.dockerHost = env[e.dockerHost]!;
  if (env[e.executor]) c.executor = env[e.executor] as AgentConfig['executor'];
  if (env[e.name]) c.name = env[e.name]!;
  if (env[e.node]) c.node = env[e.node]!;
  if (env[e.concurrency]) c.concurrency = Number(env[e.concurrency]);
  if (env[e.nodeLabels]) {
    const { labels, problems } = parseLabels(env[e.nodeLabels]!);
    if (problems.length > 0) throw new InvalidInputError(problems.map((message) => ({ field: e.nodeLabels, message })), 'agent configuration');
    c.nodeLabels = labels;
  }
  if (env[e.cpu]) c.cpu = env[e.cpu]!;
  if (env[e.memory]) c.memory = env[e.memory]!;
  if (env[e.workDir]) c.workDir = env[e.workDir]!;
  if (env[e.heartbeatIntervalMs]) c.heartbeatIntervalMs = Number(env[e.heartbeatIntervalMs]);
  if (env[e.drainTimeoutMs]) c.drainTimeoutMs = Number(env[e.drainTimeoutMs]);
  if (env[e.maxContextBytes]) c.maxContextBytes = Number(env[e.maxContextBytes]);
  if (env[e.maxContextEntries]) c.maxContextEntries = Number(env[e.maxContextEntries]);
  if (env[e.maxContextRatio]) c.maxContextRatio = Number(env[e.maxContextRatio]);
  if (env[e.dindMode]) c.dindMode = env[e.dindMode] as AgentConfig['dindMode'];
  if (env[e.dindRoot]) c.dindRoot = env[e.dindRoot]!;
  if (env[e.dockerd]) c.dockerd = env[e.dockerd]!;
  if (env[e.registryMirrors]) c.registryMirrors = env[e.registryMirrors]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (env[e.gcHighThreshold]) c.gcHighThreshold = env[e.gcHighThreshold]!;
  if (env[e.gcLowThreshold]) c.gcLowThreshold = env[e.gcLowThreshold]!;
  if (env[e.gcMinAgeMs]) c.gcMinAgeMs = Number(env[e.gcMinAgeMs]);
  if (env[e.gcIntervalMs]) c.gcIntervalMs = Number(env[e.gcIntervalMs]);
  if (env[e.gcPinnedImages]) c.gcPinnedImages = env[e.gcPinnedImages]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (env[e.gcFilesystem]) c.gcFilesystem = env[e.gcFilesystem]!;
  if (env[e.metricsListen]) c.metricsListen = env[e.metricsListen]!;
  if (env[e.nodeCacheMetricsUrl] !== undefined) c.nodeCacheMetricsUrl = env[e.nodeCacheMetricsUrl]!;
  if (env[e.kubeNode]) c.kubeNode = parseBoolean(env[e.kubeNode]!) as boolean;
  if (env[e.kubeconfig]) c.kubeconfig = env[e.kubeconfig]!;
  if (env[e.logLevel]) c.logLevel = env[e.logLevel] as LogLevel;
  if (env[e.tlsCA] !== undefined) c.tlsCAFile = env[e.tlsCA]!;
  if (env[e.tlsCert] !== undefined) c.tlsCertFile = env[e.tlsCert]!;
  if (env[e.tlsKey] !== undefined) c.tlsKeyFile = env[e.tlsKey]!;
  if (env[e.natsUser] !== undefined) c.natsUser = env[e.natsUser]!;
  if (env[e.natsPassword] !== undefined) c.natsPassword = env[e.natsPassword]!;
  if (env[e.natsCreds] !== undefined) c.natsCredsFile = env[e.natsCreds]!;
  return c;
}

/** Defaults, then `overrides`, checked once. @throws InvalidInputError naming the setting. */
export function resolveAgentConfig(overrides: Partial<AgentConfig>): AgentConfig {
  const c = { ...defaultAgentConfig(), ...overrides };
  const errors: FieldError[] = [];
  if (c.natsServers.length === 0) errors.push({ field: AGENT_ENV.natsUrl, message: 'must name at least one server' });
  errors.push(...coordinatorAddressErrors(c.coordinators));
  if (!/^(unix:\/\/\/.+|tcp:\/\/[^\s]+:\d+)$/.test(c.dockerHost)) {
    errors.push({ field: AGENT_ENV.dockerHost, message: `"${c.dockerHost}" is not unix:///path or tcp://host:port` });
  }
  if (c.executor !== 'host' && c.executor !== 'dind') errors.push({ field: AGENT_ENV.executor, message: `"${c.executor}" is not a known executor (host, dind)` });
  if (c.dindMode !== 'per-build' && c.dindMode !== 'per-agent') errors.push({ field: AGENT_ENV.dindMode, message: `must be per-build or per-agent, got "${c.dindMode}"` });
  if (c.dindRoot.length > 40) errors.push({ field: AGENT_ENV.dindRoot, message: 'must be at most 40 characters: unix socket paths under it are limited' });
  if (!Number.isInteger(c.concurrency) || c.concurrency < 1 || c.concurrency > MAX_AGENT_CONCURRENCY) {
    errors.push({ field: AGENT_ENV.concurrency, message: `must be a whole number from 1 to ${MAX_AGENT_CONCURRENCY}` });
  }
  for (const [k, v] of Object.entries(c.nodeLabels)) {
    const problem = labelKeyProblem(k) ?? labelValueProblem(v);
    if (problem) errors.push({ field: AGENT_ENV.nodeLabels, message: problem });
  }
  for (const [field, text] of [[AGENT_ENV.cpu, c.cpu], [AGENT_ENV.memory, c.memory]] as const) {
    const q = text ? parseQuantity(text) : undefined;
    if (text && !(q !== undefined && q > 0)) errors.push({ field, message: `"${text}" is not a positive Kubernetes quantity` });
  }
  const nameProblem = agentNameProblem(c.name);
  if (nameProblem) errors.push({ field: AGENT_ENV.name, message: nameProblem });
  if (!(c.heartbeatIntervalMs >= 100)) errors.push({ field: AGENT_ENV.heartbeatIntervalMs, message: 'must be at least 100' });
  if (!(c.drainTimeoutMs >= 0)) errors.push({ field: AGENT_ENV.drainTimeoutMs, message: 'must not be negative' });
  for (const field of ['maxContextBytes', 'maxContextEntries', 'maxContextRatio'] as const) {
    if (!(Number.isInteger(c[field]) && c[field] >= 1)) errors.push({ field: AGENT_ENV[field], message: `must be a whole number of at least 1, got "${c[field]}"` });
  }
  errors.push(...gcThresholdErrors(c));
  if (!(c.gcMinAgeMs >= 0)) errors.push({ field: AGENT_ENV.gcMinAgeMs, message: 'must not be negative' });
  if (!(c.gcIntervalMs === 0 || c.gcIntervalMs >= 1000)) errors.push({ field: AGENT_ENV.gcIntervalMs, message: 'must be 0 (GC off) or at least 1000' });
  if (c.metricsListen && !/^[^\s]*:\d+$/.test(c.metricsListen)) errors.push({ field: AGENT_ENV.metricsListen, message: `"${c.metricsListen}" is not host:port` });
  const cacheUrlProblem = c.nodeCacheMetricsUrl ? metricsUrlProblem(c.nodeCacheMetricsUrl) : undefined;
  if (cacheUrlProblem) errors.push({ field: AGENT_ENV.nodeCacheMetricsUrl, message: cacheUrlProblem });
  if (typeof c.kubeNode !== 'boolean') errors.push({ field: AGENT_ENV.kubeNode, message: `must be true or false, got "${String(c.kubeNode)}"` });
  if (c.kubeconfig && c.kubeNode !== true) errors.push({ field: AGENT_ENV.kubeconfig, message: `is only used with ${AGENT_ENV.kubeNode}=true` });
  if (!['debug', 'info', 'warn', 'error'].includes(c.logLevel)) errors.push({ field: AGENT_ENV.logLevel, message: `"${c.logLevel}" is not a level` });
  errors.push(...tlsErrors(c), ...natsCredentialErrors(c, AGENT_ENV));
  if (errors.length > 0) throw new InvalidInputError(errors, 'agent configuration');
  return c;
}

function tlsErrors(c: AgentConfig): FieldError[] {
  const e = AGENT_ENV;
  const errors: FieldError[] = [];
  errors.push(...missingFiles([[e.tlsCA, c.tlsCAFile], [e.tlsCert, c.tlsCertFile], [e.tlsKey, c.tlsKeyFile], [e.natsCreds, c.natsCredsFile]]));
  errors.push(...setTogether([e.tlsCert, c.tlsCertFile], [e.tlsKey, c.tlsKeyFile]));
  if (c.tlsCertFile && !c.tlsCAFile) errors.push({ field: e.tlsCA, message: `is required with ${e.tlsCert} (the coordinator's certificate must be checked)` });
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

function gcThresholdErrors(c: AgentConfig): FieldError[] {
  const high = parseThreshold(c.gcHighThreshold);
  const low = parseThreshold(c.gcLowThreshold);
  const errors: FieldError[] = [];
  if (typeof high === 'string') errors.push({ field: AGENT_ENV.gcHighThreshold, message: high });
  if (typeof low === 'string') errors.push({ field: AGENT_ENV.gcLowThreshold, message: low });
  if (typeof high === 'string' || typeof low === 'string') return errors;
  if ('percent' in high !== 'percent' in low) {
    errors.push({ field: AGENT_ENV.gcLowThreshold, message: `must be of the same kind as ${AGENT_ENV.gcHighThreshold} (both percentages or both bytes)` });
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
  const field = AGENT_ENV.coordinator;
  if (addresses.length === 0) return [{ field, message: 'must name at least one coordinator (host:port)' }];
  const errors: FieldError[] = [];
  for (const a of addresses) if (!/^[^\s,]+:\d+$/.test(a)) errors.push({ field, message: `"${a}" is not host:port` });
  if (errors.length === 0 && addresses.length > 1) {
    const families = new Set(addresses.map((a) => ipFamily(a)));
    if (families.has(undefined)) errors.push({ field, message: `several coordinators must be given as IP addresses (got ${addresses.join(',')}); for host names give one name that resolves to all of them` });
    else if (families.size > 1) errors.push({ field, message: `several coordinators must all be IPv4 or all IPv6 (got ${addresses.join(',')})` });
  }
  return errors;
}

/** 4 or 6 for an `ip:port` / `[ip6]:port` address, undefined for a host name. */
export function ipFamily(address: string): 4 | 6 | undefined {
  const host = address.slice(0, address.lastIndexOf(':'));
  if (/^\[[0-9a-fA-F:.]+\]$/.test(host) && isIP(host.slice(1, -1)) === 6) return 6;
  return isIP(host) === 4 ? 4 : undefined;
}
