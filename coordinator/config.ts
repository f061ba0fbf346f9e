import { hostname } from 'node:os';
import { InvalidInputError, type FieldError } from '../common/errors.js';
import type { LogLevel } from '../common/log.js';
import { natsCredentialErrors } from '../common/nats/connect.js';
import { missingFiles, parseBoolean, setTogether } from '../common/settings/checks.js';

/** Environment variables the coordinator reads (and the chart sets): all of them, here. */
export const COORDINATOR_ENV = {
  natsUrl: 'SLIPWAY_NATS_URL',
  grpcListen: 'SLIPWAY_GRPC_LISTEN',
  id: 'SLIPWAY_COORDINATOR_ID',
  replicas: 'SLIPWAY_NATS_REPLICAS',
  logLevel: 'SLIPWAY_LOG_LEVEL',
  secretKey: 'SLIPWAY_SECRET_KEY',
  agentGraceMs: 'SLIPWAY_AGENT_GRACE_MS',
  logMaxAgeMs: 'SLIPWAY_LOG_MAX_AGE_MS',
  logMaxBytes: 'SLIPWAY_LOG_MAX_BYTES',
  maxContextBytes: 'SLIPWAY_MAX_CONTEXT_BYTES',
  kubeApiListen: 'SLIPWAY_KUBE_API_LISTEN',
  httpListen: 'SLIPWAY_HTTP_LISTEN',
  kubeApiAuth: 'SLIPWAY_KUBE_API_AUTH',
  apiTokensFile: 'SLIPWAY_API_TOKENS_FILE',
  kubeApiTlsCert: 'SLIPWAY_KUBE_API_TLS_CERT',
  kubeApiTlsKey: 'SLIPWAY_KUBE_API_TLS_KEY',
  requestHeaderCA: 'SLIPWAY_KUBE_API_REQUESTHEADER_CA',
  requestHeaderAllowedNames: 'SLIPWAY_KUBE_API_REQUESTHEADER_ALLOWED_NAMES',
  requestHeaderUsernameHeaders: 'SLIPWAY_KUBE_API_REQUESTHEADER_USERNAME_HEADERS',
  requestHeaderGroupHeaders: 'SLIPWAY_KUBE_API_REQUESTHEADER_GROUP_HEADERS',
  requestHeaderExtraHeadersPrefix: 'SLIPWAY_KUBE_API_REQUESTHEADER_EXTRA_HEADERS_PREFIX',
  kubeconfig: 'SLIPWAY_KUBECONFIG',
  grpcTlsCert: 'SLIPWAY_GRPC_TLS_CERT',
  grpcTlsKey: 'SLIPWAY_GRPC_TLS_KEY',
  grpcClientCA: 'SLIPWAY_GRPC_CLIENT_CA',
  agentGrpcListen: 'SLIPWAY_AGENT_GRPC_LISTEN',
  natsUser: 'SLIPWAY_NATS_USER',
  natsPassword: 'SLIPWAY_NATS_PASSWORD',
  natsCreds: 'SLIPWAY_NATS_CREDS',
  registryNotifyTokenFile: 'SLIPWAY_REGISTRY_NOTIFY_TOKEN_FILE',
  imagePollIntervalMs: 'SLIPWAY_IMAGE_POLL_INTERVAL_MS',
  insecureRegistries: 'SLIPWAY_INSECURE_REGISTRIES',
  placementTimeoutMs: 'SLIPWAY_PLACEMENT_TIMEOUT_MS',
  placementAffinity: 'SLIPWAY_PLACEMENT_AFFINITY',
  affinityGraceMs: 'SLIPWAY_AFFINITY_GRACE_MS',
} as const;

/**
 * Who may use the Kubernetes API: `none` (everyone, as `system:anonymous`: for local use only),
 * `tokens` (bearer tokens from the token file, roles by group), `delegated` (in a cluster:
 * front-proxy client certificates, the token file as a fallback when given, and the cluster's
 * RBAC through SubjectAccessReview).
 */
export type KubeApiAuthMode = 'none' | 'tokens' | 'delegated';
export const KUBE_API_AUTH_MODES: readonly KubeApiAuthMode[] = ['none', 'tokens', 'delegated'];

export interface CoordinatorConfig {
  /** NATS server URLs. */
  natsServers: string[];
  /** host:port for gRPC; port 0 picks a free one. */
  grpcListen: string;
  /** Names this coordinator in logs and in NATS. */
  id: string;
  /** host:port of the Kubernetes API (group build.slipway.dev); empty: not served. Port 0 picks a free one. */
  kubeApiListen: string;
  /** host:port of the HTTP port (webhooks, /metrics, the dashboard, /healthz); empty: not served. Port 0 picks a free one. */
  httpListen: string;
  kubeApiAuth: KubeApiAuthMode;
  /**
   * The bearer-token file (kube-apiserver's --token-auth-file format); empty: no tokens. When
   * set, every BuildService call needs one of its tokens (the Kubernetes API: see kubeApiAuth).
   */
  apiTokensFile: string;
  /** PEM files of the gRPC serving certificate and key (both ports); empty: plaintext gRPC. */
  grpcTlsCertFile: string;
  grpcTlsKeyFile: string;
  /**
   * The CA that signs agents' client certificates. Set: AgentService is served only on
   * `agentGrpcListen`, with mutual TLS (no verified certificate, no connection), and an agent
   * may speak only as the name its certificate carries (CN or a DNS SAN).
   */
  grpcClientCAFile: string;
  /** host:port of AgentService with mutual TLS (needs grpcClientCAFile); empty: AgentService on grpcListen. */
  agentGrpcListen: string;
  /** NATS user and password, or a creds file (nkey/JWT); empty: none. Never logged. */
  natsUser: string;
  natsPassword: string;
  natsCredsFile: string;
  /** PEM files of the Kubernetes API's serving certificate and key; empty: plain HTTP. */
  kubeApiTlsCertFile: string;
  kubeApiTlsKeyFile: string;
  /** `delegated`: the CA that signs the front proxy's (the aggregator's) client certificates. */
  requestHeaderCAFile: string;
  /** `delegated`: common names the front proxy's certificate may have; empty: any the CA signed. */
  requestHeaderAllowedNames: string[];
  requestHeaderUsernameHeaders: string[];
  requestHeaderGroupHeaders: string[];
  requestHeaderExtraHeaderPrefixes: string[];
  /** The coordinator's own Kubernetes client (SubjectAccessReviews): a kubeconfig file; empty: the Pod's service account. */
  kubeconfig: string;
  /** Replicas of the KV buckets and the jobs stream (3 on a NATS cluster). */
  replicas: number;
  controllerWorkers: number;
  resyncIntervalMs: number;
  /**
   * A placed build still unclaimed this long, whose job is not waiting its turn in its agent's
   * queue (lost, or delivered and stranded), is placed again. See placement/scheduler.ts.
   */
  placementTimeoutMs: number;
  /** Builds prefer the agent holding their cache (placement/placement.ts); false: least loaded only. */
  placementAffinity: boolean;
  /** How long a build waits for the full agent that holds its cache before going elsewhere. */
  affinityGraceMs: number;
  /** A triggered build not yet created this long after its number was taken is made by any coordinator. */
  pendingBuildGraceMs: number;
  /** A Running build whose agent has not heartbeated for this long is lost. */
  agentGraceMs: number;
  leaseCheckIntervalMs: number;
  /** Logs older than this are dropped. */
  logMaxAgeMs: number;
  /** The log stream keeps at most this many bytes, oldest logs dropped first. */
  logMaxBytes: number;
  /** Largest uploaded build context accepted, in bytes as sent. */
  maxContextBytes: number;
  /**
   * A file holding the bearer token registries send with their notifications (POST
   * /webhooks/registry on the HTTP port, which it needs); empty: the endpoint is off.
   */
  registryNotifyTokenFile: string;
  /** How often ImageChange triggers' images are polled in their registries; 0: never (notifications only). */
  imagePollIntervalMs: number;
  /** Registries (host[:port]) polled over plain HTTP besides loopback ones, as dockerd's --insecure-registry. */
  insecureRegistries: string[];
  /** 32 bytes sealing secrets at rest, the same on every coordinator; without it secrets are refused. */
  secretKey?: Buffer;
  logLevel: LogLevel;
}

export function defaultCoordinatorConfig(): CoordinatorConfig {
  return {
    natsServers: ['nats://127.0.0.1:4222'],
    grpcListen: '127.0.0.1:7070',
    kubeApiListen: '',
    httpListen: '',
    kubeApiAuth: 'none',
    apiTokensFile: '',
    kubeApiTlsCertFile: '',
    kubeApiTlsKeyFile: '',
    requestHeaderCAFile: '',
    requestHeaderAllowedNames: [],
    requestHeaderUsernameHeaders: ['X-Remote-User'],
    requestHeaderGroupHeaders: ['X-Remote-Group'],
    requestHeaderExtraHeaderPrefixes: ['X-Remote-Extra-'],
    kubeconfig: '',
    grpcTlsCertFile: '',
    grpcTlsKeyFile: '',
    grpcClientCAFile: '',
    agentGrpcListen: '',
    natsUser: '',
    natsPassword: '',
    natsCredsFile: '',
    id: `coordinator-${hostname()}-${process.pid}`,
    replicas: 1,
    controllerWorkers: 4,
    resyncIntervalMs: 30_000,
    placementTimeoutMs: 30_000,
    placementAffinity: true,
    affinityGraceMs: 10_000,
    pendingBuildGraceMs: 10_000,
    agentGraceMs: 15_000,
    leaseCheckIntervalMs: 2000,
    logMaxAgeMs: 7 * 24 * 3600_000,
    logMaxBytes: 1024 ** 3,
    maxContextBytes: 500 * 1024 ** 2,
    registryNotifyTokenFile: '',
    imagePollIntervalMs: 300_000,
    insecureRegistries: [],
    logLevel: 'info',
  };
}

/** The settings the environment gives; unset variables give nothing, so defaults stay. */
export function coordinatorConfigFromEnv(env: NodeJS.ProcessEnv): Partial<CoordinatorConfig> {
  const c: Partial<CoordinatorConfig> = {};
  const e = COORDINATOR_ENV;
  if (env[e.natsUrl]) c.natsServers = env[e.natsUrl]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (env[e.grpcListen]) c.grpcListen = env[e.grpcListen]!;
  if (env[e.kubeApiListen] !== undefined) c.kubeApiListen = env[e.kubeApiListen]!;
  if (env[e.httpListen] !== undefined) c.httpListen = env[e.httpListen]!;
  if (env[e.kubeApiAuth]) c.kubeApiAuth = env[e.kubeApiAuth] as KubeApiAuthMode;
  if (env[e.apiTokensFile] !== undefined) c.apiTokensFile = env[e.apiTokensFile]!;
  if (env[e.kubeApiTlsCert] !== undefined) c.kubeApiTlsCertFile = env[e.kubeApiTlsCert]!;
  if (env[e.kubeApiTlsKey] !== undefined) c.kubeApiTlsKeyFile = env[e.kubeApiTlsKey]!;
  if (env[e.requestHeaderCA] !== undefined) c.requestHeaderCAFile = env[e.requestHeaderCA]!;
  if (env[e.requestHeaderAllowedNames] !== undefined) c.requestHeaderAllowedNames = list(env[e.requestHeaderAllowedNames]!);
  if (env[e.requestHeaderUsernameHeaders]) c.requestHeaderUsernameHeaders = list(env[e.requestHeaderUsernameHeaders]!);
  if (env[e.requestHeaderGroupHeaders]) c.requestHeaderGroupHeaders = list(env[e.requestHeaderGroupHeaders]!);
  if (env[e.requestHeaderExtraHeadersPrefix]) c.requestHeaderExtraHeaderPrefixes = list(env[e.requestHeaderExtraHeadersPrefix]!);
  if (env[e.kubeconfig] !== undefined) c.kubeconfig = env[e.kubeconfig]!;
  if (env[e.grpcTlsCert] !== undefined) c.grpcTlsCertFile = env[e.grpcTlsCert]!;
  if (env[e.grpcTlsKey] !== undefined) c.grpcTlsKeyFile = env[e.grpcTlsKey]!;
  if (env[e.grpcClientCA] !== undefined) c.grpcClientCAFile = env[e.grpcClientCA]!;
  if (env[e.agentGrpcListen] !== undefined) c.agentGrpcListen = env[e.agentGrpcListen]!;
  if (env[e.natsUser] !== undefined) c.natsUser = env[e.natsUser]!;
  if (env[e.natsPassword] !== undefined) c.natsPassword = env[e.natsPassword]!;
  if (env[e.natsCreds] !== undefined) c.natsCredsFile = env[e.natsCreds]!;
  if (env[e.id]) c.id = env[e.id]!;
  if (env[e.replicas]) c.replicas = Number(env[e.replicas]);
  if (env[e.logLevel]) c.logLevel = env[e.logLevel] as LogLevel;
  if (env[e.secretKey]) c.secretKey = Buffer.from(env[e.secretKey]!, 'base64');
  if (env[e.agentGraceMs]) c.agentGraceMs = Number(env[e.agentGraceMs]);
  if (env[e.logMaxAgeMs]) c.logMaxAgeMs = Number(env[e.logMaxAgeMs]);
  if (env[e.logMaxBytes]) c.logMaxBytes = Number(env[e.logMaxBytes]);
  if (env[e.maxContextBytes]) c.maxContextBytes = Number(env[e.maxContextBytes]);
  if (env[e.registryNotifyTokenFile] !== undefined) c.registryNotifyTokenFile = env[e.registryNotifyTokenFile]!;
  if (env[e.imagePollIntervalMs]) c.imagePollIntervalMs = Number(env[e.imagePollIntervalMs]);
  if (env[e.insecureRegistries] !== undefined) c.insecureRegistries = list(env[e.insecureRegistries]!);
  if (env[e.placementTimeoutMs]) c.placementTimeoutMs = Number(env[e.placementTimeoutMs]);
  if (env[e.placementAffinity]) c.placementAffinity = parseBoolean(env[e.placementAffinity]!) as boolean;
  if (env[e.affinityGraceMs]) c.affinityGraceMs = Number(env[e.affinityGraceMs]);
  return c;
}

/** Defaults, then `overrides`, checked once. @throws InvalidInputError naming the setting. */
export function resolveCoordinatorConfig(overrides: Partial<CoordinatorConfig>): CoordinatorConfig {
  const c = { ...defaultCoordinatorConfig(), ...overrides };
  const errors: FieldError[] = [];
  if (c.natsServers.length === 0) errors.push({ field: COORDINATOR_ENV.natsUrl, message: 'must name at least one server' });
  if (!/^[^\s:]*:\d+$/.test(c.grpcListen)) errors.push({ field: COORDINATOR_ENV.grpcListen, message: `"${c.grpcListen}" is not host:port` });
  if (c.kubeApiListen && !/^[^\s:]*:\d+$/.test(c.kubeApiListen)) errors.push({ field: COORDINATOR_ENV.kubeApiListen, message: `"${c.kubeApiListen}" is not host:port` });
  if (c.httpListen && !/^[^\s:]*:\d+$/.test(c.httpListen)) errors.push({ field: COORDINATOR_ENV.httpListen, message: `"${c.httpListen}" is not host:port` });
  if (![1, 3, 5].includes(c.replicas)) errors.push({ field: COORDINATOR_ENV.replicas, message: `must be 1, 3 or 5, got ${c.replicas}` });
  if (!['debug', 'info', 'warn', 'error'].includes(c.logLevel)) errors.push({ field: COORDINATOR_ENV.logLevel, message: `"${c.logLevel}" is not a level` });
  if (!(c.controllerWorkers >= 1)) errors.push({ field: 'controllerWorkers', message: 'must be at least 1' });
  if (c.secretKey && c.secretKey.length !== 32) errors.push({ field: COORDINATOR_ENV.secretKey, message: `must be 32 bytes in base64, got ${c.secretKey.length} bytes` });
  if (!(Number.isSafeInteger(c.placementTimeoutMs) && c.placementTimeoutMs >= 1000)) errors.push({ field: COORDINATOR_ENV.placementTimeoutMs, message: `must be at least 1000, got ${c.placementTimeoutMs}` });
  if (typeof c.placementAffinity !== 'boolean') errors.push({ field: COORDINATOR_ENV.placementAffinity, message: `must be true or false, got "${String(c.placementAffinity)}"` });
  if (!(Number.isSafeInteger(c.affinityGraceMs) && c.affinityGraceMs >= 0)) errors.push({ field: COORDINATOR_ENV.affinityGraceMs, message: `must be a whole number of milliseconds, got ${c.affinityGraceMs}` });
  if (!(c.agentGraceMs >= 1000)) errors.push({ field: COORDINATOR_ENV.agentGraceMs, message: 'must be at least 1000' });
  if (!(c.logMaxAgeMs >= 60_000)) errors.push({ field: COORDINATOR_ENV.logMaxAgeMs, message: 'must be at least 60000' });
  if (!(c.maxContextBytes >= 1024)) errors.push({ field: COORDINATOR_ENV.maxContextBytes, message: 'must be at least 1024' });
  if (!(c.logMaxBytes >= 1024 ** 2)) errors.push({ field: COORDINATOR_ENV.logMaxBytes, message: 'must be at least 1 MiB' });
  errors.push(...kubeApiAuthErrors(c), ...grpcSecurityErrors(c), ...triggerErrors(c));
  if (errors.length > 0) throw new InvalidInputError(errors, 'coordinator configuration');
  return c;
}

/** Settings of the Kubernetes API's authentication that do not fit together, or files that are not there. */
function kubeApiAuthErrors(c: CoordinatorConfig): FieldError[] {
  const e = COORDINATOR_ENV;
  const errors: FieldError[] = [];
  const file = (field: string, path: string) => errors.push(...missingFiles([[field, path]]));
  if (!KUBE_API_AUTH_MODES.includes(c.kubeApiAuth)) {
    errors.push({ field: e.kubeApiAuth, message: `"${c.kubeApiAuth}" is not one of ${KUBE_API_AUTH_MODES.join(', ')}` });
    return errors;
  }
  errors.push(...setTogether([e.kubeApiTlsCert, c.kubeApiTlsCertFile], [e.kubeApiTlsKey, c.kubeApiTlsKeyFile]));
  file(e.kubeApiTlsCert, c.kubeApiTlsCertFile);
  file(e.kubeApiTlsKey, c.kubeApiTlsKeyFile);
  file(e.apiTokensFile, c.apiTokensFile);
  file(e.requestHeaderCA, c.requestHeaderCAFile);
  file(e.kubeconfig, c.kubeconfig);
  if (c.kubeApiAuth === 'tokens' && !c.apiTokensFile) errors.push({ field: e.apiTokensFile, message: `is required when ${e.kubeApiAuth} is tokens` });
  if (c.kubeApiAuth === 'delegated') {
    if (!c.requestHeaderCAFile) errors.push({ field: e.requestHeaderCA, message: `is required when ${e.kubeApiAuth} is delegated (the front proxy's client CA)` });
    if (!c.kubeApiTlsCertFile && !c.kubeApiTlsKeyFile) errors.push({ field: e.kubeApiTlsCert, message: `is required when ${e.kubeApiAuth} is delegated (the aggregator only talks TLS)` });
    if (c.requestHeaderUsernameHeaders.length === 0) errors.push({ field: e.requestHeaderUsernameHeaders, message: 'must name at least one header' });
  } else {
    // Set for a mode that does not read them: the operator meant something else.
    if (c.requestHeaderCAFile) errors.push({ field: e.requestHeaderCA, message: `is only used when ${e.kubeApiAuth} is delegated (it is ${c.kubeApiAuth})` });
    if (c.requestHeaderAllowedNames.length > 0) errors.push({ field: e.requestHeaderAllowedNames, message: `is only used when ${e.kubeApiAuth} is delegated (it is ${c.kubeApiAuth})` });
  }
  return errors;
}

/** gRPC TLS and NATS credentials that do not fit together, or files that are not there. */
function grpcSecurityErrors(c: CoordinatorConfig): FieldError[] {
  const e = COORDINATOR_ENV;
  const errors: FieldError[] = [];
  errors.push(...missingFiles([[e.grpcTlsCert, c.grpcTlsCertFile], [e.grpcTlsKey, c.grpcTlsKeyFile], [e.grpcClientCA, c.grpcClientCAFile], [e.natsCreds, c.natsCredsFile]]));
  errors.push(...setTogether([e.grpcTlsCert, c.grpcTlsCertFile], [e.grpcTlsKey, c.grpcTlsKeyFile]));
  if (c.agentGrpcListen && !/^[^\s:]*:\d+$/.test(c.agentGrpcListen)) errors.push({ field: e.agentGrpcListen, message: `"${c.agentGrpcListen}" is not host:port` });
  if (c.grpcClientCAFile && !c.agentGrpcListen) errors.push({ field: e.agentGrpcListen, message: `is required with ${e.grpcClientCA} (agents get a port of their own, with mutual TLS)` });
  if (c.agentGrpcListen && !c.grpcClientCAFile) errors.push({ field: e.grpcClientCA, message: `is required with ${e.agentGrpcListen} (that port is for mutual TLS)` });
  if (c.grpcClientCAFile && !c.grpcTlsCertFile) errors.push({ field: e.grpcTlsCert, message: `is required with ${e.grpcClientCA}` });
  errors.push(...natsCredentialErrors(c, e));
  return errors;
}

/** The ImageChange triggers' settings that cannot be used. */
function triggerErrors(c: CoordinatorConfig): FieldError[] {
  const e = COORDINATOR_ENV;
  const errors = missingFiles([[e.registryNotifyTokenFile, c.registryNotifyTokenFile]]);
  if (c.registryNotifyTokenFile && !c.httpListen) errors.push({ field: e.httpListen, message: `is required with ${e.registryNotifyTokenFile} (registries post their notifications to the HTTP port)` });
  if (!(c.imagePollIntervalMs === 0 || (Number.isSafeInteger(c.imagePollIntervalMs) && c.imagePollIntervalMs >= 1000))) {
    errors.push({ field: e.imagePollIntervalMs, message: `must be 0 (off) or at least 1000, got ${c.imagePollIntervalMs}` });
  }
  for (const r of c.insecureRegistries) if (!/^[^\s/:]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(r)) errors.push({ field: e.insecureRegistries, message: `"${r}" is not host[:port]` });
  return errors;
}

function list(s: string): string[] {
  return s.split(',').map((v) => v.trim()).filter(Boolean);
}
