import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { InvalidInputError, errorMessage, type FieldError } from '../common/errors.js';
import { natsCredentialErrors } from '../common/nats/connect.js';
import { hostPortProblem, registryHostsProblem, setTogether } from '../common/settings/checks.js';
import { boolean, choice, custom, file, integer, list, text, type ConfigOf } from '../common/settings/setting.js';
import { defaultsOf, envNames, resolveSettings, settingsFromEnv } from '../common/settings/settings.js';
import { logLevel, natsCredsFile, natsPassword, natsServers, natsUser } from '../common/settings/shared.js';

/**
 * Who may use the Kubernetes API: `none` (everyone, as `system:anonymous`: for local use only),
 * `tokens` (bearer tokens from the token file, roles by group), `delegated` (in a cluster:
 * front-proxy client certificates, the token file as a fallback when given, and the cluster's
 * RBAC through SubjectAccessReview).
 */
export type KubeApiAuthMode = 'none' | 'tokens' | 'delegated';
export const KUBE_API_AUTH_MODES: readonly KubeApiAuthMode[] = ['none', 'tokens', 'delegated'];

/** Everything the coordinator can be told, declared once; docs/settings.md is made from it. */
export const COORDINATOR_SETTINGS = {
  natsServers,
  grpcListen: text({
    env: 'SLIPWAY_GRPC_LISTEN',
    default: '127.0.0.1:7070',
    check: (v) => hostPortProblem(v, { optional: false }),
    doc: 'host:port of gRPC; port 0 picks a free one.',
    chart: '0.0.0.0:coordinator.grpcPort',
  }),
  /** Names this coordinator in logs and in NATS. */
  id: text({
    env: 'SLIPWAY_COORDINATOR_ID',
    default: () => `coordinator-${hostname()}-${process.pid}`,
    defaultText: 'coordinator-<host name>-<pid>',
    doc: 'Names this coordinator in logs and in NATS.',
    chart: 'the Pod name',
  }),
  /** host:port of the Kubernetes API (group build.slipway.dev); empty: not served. Port 0 picks a free one. */
  kubeApiListen: text({
    env: 'SLIPWAY_KUBE_API_LISTEN',
    default: '',
    check: hostPortProblem,
    doc: 'host:port of the Kubernetes API (group build.slipway.dev); unset: not served.',
    chart: 'kubeApi.enabled, kubeApi.port',
  }),
  /** host:port of the HTTP port (webhooks, /metrics, the dashboard, /healthz); empty: not served. Port 0 picks a free one. */
  httpListen: text({
    env: 'SLIPWAY_HTTP_LISTEN',
    default: '',
    check: hostPortProblem,
    doc: 'host:port of the HTTP port (webhooks, /metrics, the dashboard, /healthz); unset: not served.',
    chart: 'coordinator.httpPort',
  }),
  kubeApiAuth: choice(KUBE_API_AUTH_MODES, {
    env: 'SLIPWAY_KUBE_API_AUTH',
    default: 'none',
    doc: 'Who may use the Kubernetes API: none (everyone; local use only), tokens, or delegated (front proxy and cluster RBAC).',
    chart: 'kubeApi.auth',
  }),
  /**
   * The bearer-token file (kube-apiserver's --token-auth-file format); empty: no tokens. When
   * set, every BuildService call needs one of its tokens (the Kubernetes API: see kubeApiAuth).
   */
  apiTokensFile: file({
    env: 'SLIPWAY_API_TOKENS_FILE',
    default: '',
    doc: 'Bearer-token file (kube-apiserver --token-auth-file format); set: every BuildService call needs a token.',
    chart: 'apiTokens.existingSecret',
  }),
  /** PEM files of the gRPC serving certificate and key (both ports); empty: plaintext gRPC. */
  grpcTlsCertFile: file({
    env: 'SLIPWAY_GRPC_TLS_CERT',
    default: '',
    doc: 'PEM serving certificate of both gRPC ports (with SLIPWAY_GRPC_TLS_KEY); unset: plaintext gRPC.',
    chart: 'grpcTls',
  }),
  grpcTlsKeyFile: file({
    env: 'SLIPWAY_GRPC_TLS_KEY',
    default: '',
    doc: 'PEM key of the gRPC serving certificate.',
    chart: 'grpcTls',
  }),
  /**
   * The CA that signs agents' client certificates. Set: AgentService is served only on
   * `agentGrpcListen`, with mutual TLS (no verified certificate, no connection), and an agent
   * may speak only as the name its certificate carries (CN or a DNS SAN).
   */
  grpcClientCAFile: file({
    env: 'SLIPWAY_GRPC_CLIENT_CA',
    default: '',
    doc: "CA of agents' client certificates: AgentService only on SLIPWAY_AGENT_GRPC_LISTEN, with mutual TLS.",
    chart: 'agentMtls.clientCA',
  }),
  /** host:port of AgentService with mutual TLS (needs grpcClientCAFile); empty: AgentService on grpcListen. */
  agentGrpcListen: text({
    env: 'SLIPWAY_AGENT_GRPC_LISTEN',
    default: '',
    check: hostPortProblem,
    doc: 'host:port of AgentService with mutual TLS (needs SLIPWAY_GRPC_CLIENT_CA); unset: on SLIPWAY_GRPC_LISTEN.',
    chart: '0.0.0.0:agentMtls.port',
  }),
  /** NATS user and password, or a creds file (nkey/JWT); empty: none. Never logged. */
  natsUser,
  natsPassword,
  natsCredsFile,
  /** PEM files of the Kubernetes API's serving certificate and key; empty: plain HTTP. */
  kubeApiTlsCertFile: file({
    env: 'SLIPWAY_KUBE_API_TLS_CERT',
    default: '',
    doc: 'PEM serving certificate of the Kubernetes API (with its key); unset: plain HTTP.',
    chart: 'kubeApi.tls.existingSecret',
  }),
  kubeApiTlsKeyFile: file({
    env: 'SLIPWAY_KUBE_API_TLS_KEY',
    default: '',
    doc: "PEM key of the Kubernetes API's serving certificate.",
    chart: 'kubeApi.tls.existingSecret',
  }),
  /** `delegated`: the CA that signs the front proxy's (the aggregator's) client certificates. */
  requestHeaderCAFile: file({
    env: 'SLIPWAY_KUBE_API_REQUESTHEADER_CA',
    default: '',
    doc: "delegated: CA of the front proxy's (the aggregator's) client certificates.",
    chart: 'kubeApi.requestheader.caConfigMap',
  }),
  /** `delegated`: common names the front proxy's certificate may have; empty: any the CA signed. */
  requestHeaderAllowedNames: list({
    env: 'SLIPWAY_KUBE_API_REQUESTHEADER_ALLOWED_NAMES',
    default: [],
    doc: "delegated: common names the front proxy's certificate may have; unset: any the CA signed.",
    chart: 'kubeApi.requestheader.allowedNames',
  }),
  requestHeaderUsernameHeaders: list({
    env: 'SLIPWAY_KUBE_API_REQUESTHEADER_USERNAME_HEADERS',
    default: ['X-Remote-User'],
    doc: 'delegated: headers carrying the user name.',
    chart: 'kubeApi.requestheader.usernameHeaders',
  }),
  requestHeaderGroupHeaders: list({
    env: 'SLIPWAY_KUBE_API_REQUESTHEADER_GROUP_HEADERS',
    default: ['X-Remote-Group'],
    doc: "delegated: headers carrying the user's groups.",
    chart: 'kubeApi.requestheader.groupHeaders',
  }),
  requestHeaderExtraHeaderPrefixes: list({
    env: 'SLIPWAY_KUBE_API_REQUESTHEADER_EXTRA_HEADERS_PREFIX',
    default: ['X-Remote-Extra-'],
    doc: "delegated: prefixes of headers carrying the user's extra fields.",
    chart: 'kubeApi.requestheader.extraHeadersPrefix',
  }),
  /** The coordinator's own Kubernetes client (SubjectAccessReviews): a kubeconfig file; empty: the Pod's service account. */
  kubeconfig: file({
    env: 'SLIPWAY_KUBECONFIG',
    default: '',
    doc: "The coordinator's own Kubernetes client (SubjectAccessReviews); unset: the Pod's service account.",
  }),
  /** Replicas of the KV buckets and the jobs stream (3 on a NATS cluster). */
  replicas: integer({
    env: 'SLIPWAY_NATS_REPLICAS',
    default: 1,
    check: (v) => ([1, 3, 5].includes(v) ? undefined : `must be 1, 3 or 5, got ${v}`),
    doc: 'Replicas of the KV buckets and the jobs stream (3 on a NATS cluster).',
    chart: 'nats.streamReplicas',
  }),
  controllerWorkers: integer({ default: 4, min: 1, doc: 'Builds the controller converges at once.' }),
  resyncIntervalMs: integer({ default: 30_000, min: 1, doc: 'How often the controller looks at every build again.' }),
  /**
   * A placed build still unclaimed this long, whose job is not waiting its turn in its agent's
   * queue (lost, or delivered and stranded), is placed again. See placement/scheduler.ts.
   */
  placementTimeoutMs: integer({
    env: 'SLIPWAY_PLACEMENT_TIMEOUT_MS',
    default: 30_000,
    min: 1000,
    doc: 'A placed build unclaimed this long (its job lost) is placed again.',
    chart: 'coordinator.placement.timeoutMs',
  }),
  /**
   * A placed build still unclaimed when its agent heartbeats this long after the placement has its
   * job looked for at once: lost, passed over, or delivered to an agent run that has since
   * restarted, it is placed again without waiting for placementTimeoutMs.
   */
  placementCheckMs: integer({
    env: 'SLIPWAY_PLACEMENT_CHECK_MS',
    default: 5000,
    min: 1000,
    doc: 'A placed build unclaimed when its agent heartbeats this long after has its job looked for (lost: placed again).',
    chart: 'coordinator.placement.checkMs',
  }),
  /**
   * A placed build its agent has not claimed this long after the placement is named in that
   * agent's heartbeat answers, and the agent claims it as if its job had been delivered: the
   * dispatch path that does not need the work queue (a jobs stream refusing publishes, a lost
   * job). Below placementCheckMs, so the agent claims it before the check takes it back.
   */
  placementRemindMs: integer({
    env: 'SLIPWAY_PLACEMENT_REMIND_MS',
    default: 2000,
    min: 100,
    doc: "A placed build unclaimed this long is named in its agent's heartbeat answer, and the agent claims it (no work queue needed).",
    chart: 'coordinator.placement.remindMs',
  }),
  /** Builds prefer the agent holding their cache (placement/placement.ts); false: least loaded only. */
  placementAffinity: boolean({
    env: 'SLIPWAY_PLACEMENT_AFFINITY',
    default: true,
    doc: 'Builds prefer the agent that holds their cache; false: the least loaded only.',
    chart: 'coordinator.placement.affinity',
  }),
  /** How long a build waits for the full agent that holds its cache before going elsewhere. */
  affinityGraceMs: integer({
    env: 'SLIPWAY_AFFINITY_GRACE_MS',
    default: 10_000,
    min: 0,
    doc: 'How long a build waits for the full agent that holds its cache.',
    chart: 'coordinator.placement.affinityGraceMs',
  }),
  /**
   * Namespaces whose every build must run in a user namespace (placement/unprivileged-policy.ts):
   * placed only on agents whose isolation is `userns`, else waiting with NoMatchingAgent.
   */
  unprivilegedNamespaces: list({
    env: 'SLIPWAY_UNPRIVILEGED_NAMESPACES',
    default: [],
    check: (v) =>
      v
        .map((ns) =>
          /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns) ? '' : `"${ns.slice(0, 80)}" is not a namespace name`,
        )
        .find(Boolean),
    doc: 'Namespaces whose builds run only on agents that build in a user namespace (else they wait: NoMatchingAgent).',
    chart: 'coordinator.unprivilegedNamespaces',
  }),
  /** A triggered build not yet created this long after its number was taken is made by any coordinator. */
  pendingBuildGraceMs: integer({
    default: 10_000,
    min: 1,
    doc: 'A triggered build not created this long after its number was taken is made by any coordinator.',
  }),
  /** A Running build whose agent has not heartbeated for this long is lost. */
  agentGraceMs: integer({
    env: 'SLIPWAY_AGENT_GRACE_MS',
    default: 15_000,
    min: 1000,
    doc: 'A Running build whose agent has not heartbeated for this long is lost.',
    chart: 'coordinator.agentGraceMs',
  }),
  /** An agent silent this long, with no build placed on it, has its record, job consumer and slot keys removed; 0: kept forever. */
  agentRetentionMs: integer({
    env: 'SLIPWAY_AGENT_RETENTION_MS',
    default: 24 * 3600_000,
    min: 0,
    check: (v) => (v === 0 || v >= 1000 ? undefined : `must be 0 (kept forever) or at least 1000, got ${v}`),
    doc: 'An agent silent this long (and with no build on it) is forgotten: its record, job consumer and slot keys are removed; a consumer or slot key left behind (a coordinator stopped mid-removal) goes once idle this long too; 0: never.',
    chart: 'coordinator.agentRetentionMs',
  }),
  leaseCheckIntervalMs: integer({ default: 2000, min: 1, doc: "How often agents' heartbeats are looked at." }),
  /**
   * How far V8 lets the coordinator's heap grow past what the last full collection kept, in
   * percent; 0: V8's own choice (up to 4× on a small heap). For a pod with little memory: V8's
   * own choice lets a listing of 10,000 builds add 50–90 MiB of RSS and a flood of them run at
   * 250–290 MiB, 25 keeps them at 8–29 and 166 MiB for 15–30% more CPU a build
   * (bench/README.md). Applied by the coordinator's process (main.ts), not by Coordinator.start.
   */
  heapGrowingPercent: integer({
    env: 'SLIPWAY_HEAP_GROWING_PERCENT',
    default: 0,
    min: 0,
    max: 300,
    doc: "How far the coordinator's heap may grow past what its last full collection kept, in percent (at most 300); 0: V8's own. Lower: less memory, more CPU (25: a listing of 10,000 builds adds 8–29 MiB, not 50–90).",
    chart: 'coordinator.heapGrowingPercent',
  }),
  /** Logs older than this are dropped. */
  logMaxAgeMs: integer({
    env: 'SLIPWAY_LOG_MAX_AGE_MS',
    default: 7 * 24 * 3600_000,
    min: 60_000,
    doc: 'Build logs older than this are dropped.',
    chart: 'coordinator.logMaxAgeMs',
  }),
  /** The log stream keeps at most this many bytes, oldest logs dropped first. */
  logMaxBytes: integer({
    env: 'SLIPWAY_LOG_MAX_BYTES',
    default: 1024 ** 3,
    min: 1024 ** 2,
    doc: 'The log stream keeps at most this many bytes, oldest logs dropped first.',
    chart: 'coordinator.logMaxBytes',
  }),
  /** Largest uploaded build context accepted, in bytes as sent. */
  maxContextBytes: integer({
    env: 'SLIPWAY_MAX_CONTEXT_BYTES',
    default: 500 * 1024 ** 2,
    min: 1024,
    doc: 'Largest uploaded build context accepted, in bytes as sent.',
  }),
  /**
   * A file holding the bearer token registries send with their notifications (POST
   * /webhooks/registry on the HTTP port, which it needs); empty: the endpoint is off.
   */
  registryNotifyTokenFile: file({
    env: 'SLIPWAY_REGISTRY_NOTIFY_TOKEN_FILE',
    default: '',
    doc: 'File holding the token registries send with notifications (POST /webhooks/registry); unset: off.',
  }),
  /** How often ImageChange triggers' images are polled in their registries; 0: never (notifications only). */
  imagePollIntervalMs: integer({
    env: 'SLIPWAY_IMAGE_POLL_INTERVAL_MS',
    default: 300_000,
    min: 0,
    check: (v) => (v === 0 || v >= 1000 ? undefined : `must be 0 (off) or at least 1000, got ${v}`),
    doc: "How often ImageChange triggers' images are polled; 0: never (notifications only).",
  }),
  /** Registries (host[:port]) spoken to over plain HTTP besides loopback ones, as dockerd's --insecure-registry. */
  insecureRegistries: list({
    env: 'SLIPWAY_INSECURE_REGISTRIES',
    default: [],
    check: registryHostsProblem,
    doc: 'Registries (host[:port]) spoken to over plain HTTP besides loopback ones: polled for ImageChange triggers, and where the index of a build of several platforms is pushed.',
  }),
  /** 32 bytes sealing secrets at rest, the same on every coordinator; without it secrets are refused. */
  secretKey: custom<Buffer | undefined>('base64, 32 bytes', {}, (t) => ({ value: Buffer.from(t, 'base64') }), {
    env: 'SLIPWAY_SECRET_KEY',
    default: undefined,
    secret: true,
    check: (v) => (v && v.length !== 32 ? `must be 32 bytes in base64, got ${v.length} bytes` : undefined),
    doc: 'Seals secrets at rest, the same on every coordinator; unset: secrets are refused.',
    chart: 'secretKey.existingSecret',
  }),
  logLevel,
};

/** The coordinator's settings, resolved: one field per declaration above. */
export type CoordinatorConfig = ConfigOf<typeof COORDINATOR_SETTINGS>;

/** Environment variables the coordinator reads (and the chart sets), by config field. */
export const COORDINATOR_ENV = envNames(COORDINATOR_SETTINGS);

export function defaultCoordinatorConfig(): CoordinatorConfig {
  return defaultsOf(COORDINATOR_SETTINGS);
}

/** The settings the environment gives; unset variables give nothing, so defaults stay. @throws InvalidInputError on an empty or malformed one. */
export function coordinatorConfigFromEnv(env: NodeJS.ProcessEnv): Partial<CoordinatorConfig> {
  return settingsFromEnv(COORDINATOR_SETTINGS, env, 'coordinator configuration');
}

/** Defaults, then `overrides`, checked once. @throws InvalidInputError naming the setting. */
export function resolveCoordinatorConfig(overrides: Partial<CoordinatorConfig>): CoordinatorConfig {
  return resolveSettings(COORDINATOR_SETTINGS, overrides, 'coordinator configuration', (c) => [
    ...kubeApiAuthErrors(c),
    ...grpcSecurityErrors(c),
    ...triggerErrors(c),
    ...retentionErrors(c),
  ]);
}

/** An agent is forgotten only once it is long lost: retention past the grace period. */
function retentionErrors(c: CoordinatorConfig): FieldError[] {
  const e = COORDINATOR_ENV;
  if (c.agentRetentionMs === 0 || c.agentRetentionMs > c.agentGraceMs) return [];
  return [
    {
      field: e.agentRetentionMs,
      message: `must be 0 or longer than ${e.agentGraceMs} (${c.agentGraceMs}), got ${c.agentRetentionMs}`,
    },
  ];
}

/** Settings of the Kubernetes API's authentication that do not fit together. */
function kubeApiAuthErrors(c: CoordinatorConfig): FieldError[] {
  const e = COORDINATOR_ENV;
  const errors = setTogether([e.kubeApiTlsCertFile, c.kubeApiTlsCertFile], [e.kubeApiTlsKeyFile, c.kubeApiTlsKeyFile]);
  if (c.kubeApiAuth === 'tokens' && !c.apiTokensFile)
    errors.push({ field: e.apiTokensFile, message: `is required when ${e.kubeApiAuth} is tokens` });
  if (c.kubeApiAuth === 'delegated') {
    if (!c.requestHeaderCAFile)
      errors.push({
        field: e.requestHeaderCAFile,
        message: `is required when ${e.kubeApiAuth} is delegated (the front proxy's client CA)`,
      });
    if (!c.kubeApiTlsCertFile && !c.kubeApiTlsKeyFile)
      errors.push({
        field: e.kubeApiTlsCertFile,
        message: `is required when ${e.kubeApiAuth} is delegated (the aggregator only talks TLS)`,
      });
    if (c.requestHeaderUsernameHeaders.length === 0)
      errors.push({ field: e.requestHeaderUsernameHeaders, message: 'must name at least one header' });
  } else {
    // Set for a mode that does not read them: the operator meant something else.
    if (c.requestHeaderCAFile)
      errors.push({
        field: e.requestHeaderCAFile,
        message: `is only used when ${e.kubeApiAuth} is delegated (it is ${c.kubeApiAuth})`,
      });
    if (c.requestHeaderAllowedNames.length > 0)
      errors.push({
        field: e.requestHeaderAllowedNames,
        message: `is only used when ${e.kubeApiAuth} is delegated (it is ${c.kubeApiAuth})`,
      });
  }
  return errors;
}

/** gRPC TLS and NATS credentials that do not fit together. */
function grpcSecurityErrors(c: CoordinatorConfig): FieldError[] {
  const e = COORDINATOR_ENV;
  const errors = setTogether([e.grpcTlsCertFile, c.grpcTlsCertFile], [e.grpcTlsKeyFile, c.grpcTlsKeyFile]);
  if (c.grpcClientCAFile && !c.agentGrpcListen)
    errors.push({
      field: e.agentGrpcListen,
      message: `is required with ${e.grpcClientCAFile} (agents get a port of their own, with mutual TLS)`,
    });
  if (c.agentGrpcListen && !c.grpcClientCAFile)
    errors.push({
      field: e.grpcClientCAFile,
      message: `is required with ${e.agentGrpcListen} (that port is for mutual TLS)`,
    });
  if (c.grpcClientCAFile && !c.grpcTlsCertFile)
    errors.push({ field: e.grpcTlsCertFile, message: `is required with ${e.grpcClientCAFile}` });
  errors.push(...natsCredentialErrors(c, e));
  return errors;
}

/** The ImageChange triggers' settings that cannot be used together. */
function triggerErrors(c: CoordinatorConfig): FieldError[] {
  const e = COORDINATOR_ENV;
  if (c.registryNotifyTokenFile && !c.httpListen)
    return [
      {
        field: e.httpListen,
        message: `is required with ${e.registryNotifyTokenFile} (registries post their notifications to the HTTP port)`,
      },
    ];
  return [];
}

/** A file a setting names, read at start. @throws InvalidInputError naming the setting when it cannot be read. */
export async function readSettingFile(setting: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new InvalidInputError(
      [{ field: setting, message: `cannot read "${file}": ${errorMessage(err)}` }],
      'coordinator configuration',
    );
  }
}
