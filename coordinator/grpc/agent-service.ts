import type * as grpc from '@grpc/grpc-js';
import { InvalidInputError, PermissionDeniedError, type FieldError } from '../../common/errors.js';
import { slipwayProto } from '../../common/grpc/proto.js';
import type { Logger } from '../../common/log.js';
import type { AgentServiceHandlers } from '../../proto/generated/slipway/v1/AgentService.js';
import type { BuildRef__Output } from '../../proto/generated/slipway/v1/BuildRef.js';
import type { BuildStage__Output } from '../../proto/generated/slipway/v1/BuildStage.js';
import {
  BUILD_STAGE_NAMES,
  MAX_LOG_SNIPPET_BYTES,
  MAX_SOURCE_IMAGES,
  type BuildStage,
  type BuildStageName,
} from '../../api/types.js';
import { MANIFEST_DIGEST } from '../../common/image-reference.js';
import type { AgentReports, BuildRef } from '../builds/agent-reports.js';
import type { RegistrySecret } from '../secrets/secret-store.js';
import { MAX_AGENT_CONCURRENCY, agentNameProblem } from '../../common/agent-name.js';
import type { AgentCacheFigures__Output } from '../../proto/generated/slipway/v1/AgentCacheFigures.js';
import { labelKeyProblem, labelValueProblem } from '../../common/labels.js';
import { nameErrors } from '../../api/validation.js';
import { buildToProto } from './convert.js';
import { unary } from './handlers.js';
import { answerMalformedRequests } from './malformed-requests.js';
import { ISOLATIONS, NO_NAMESPACE_POLICY, type UnprivilegedPolicy } from '../placement/unprivileged-policy.js';

/** Phases an agent may report for a build that did not complete. */
const FAILURE_PHASES = new Set(['Failed', 'Error', 'Cancelled']);

/** The agents' gRPC service: claims and outcomes, each fenced by attempt and agent. */
export class AgentService {
  constructor(
    private readonly reports: AgentReports,
    private readonly log: Logger,
    /**
     * Served with mutual TLS: every call must come over a verified client certificate that names
     * the agent (its CN or a DNS subjectAltName), so one agent cannot report as another.
     */
    private readonly requireAgentCertificate = false,
    /** Which builds must run in a user namespace: the claim's answer says why, for the agent's own check. */
    private readonly unprivileged: UnprivilegedPolicy = NO_NAMESPACE_POLICY,
  ) {}

  addTo(server: grpc.Server): void {
    server.addService(...answerMalformedRequests(slipwayProto().slipway.v1.AgentService.service, this.handlers()));
  }

  private handlers(): AgentServiceHandlers {
    const { reports, log } = this;
    const identify = (call: grpc.ServerUnaryCall<unknown, unknown>, agent: string) => {
      if (this.requireAgentCertificate) certifiedAgent(call, agent);
    };
    return {
      ClaimBuild: unary(log, 'ClaimBuild', async (req, call) => {
        identify(call, req.agent);
        const ref = buildRef(req.build, [
          ...agentName(req.agent),
          ...nodeName(req.node),
          ...required(req.claimId, 'claimId'),
          ...nodeLabels(req.nodeLabels),
        ]);
        const { build, pushCredentials, sourceCredentials, pullCredentials, buildSecrets, sourceImageCredentials } =
          await reports.claim(ref, {
            agent: req.agent,
            node: req.node,
            claimId: req.claimId,
            nodeLabels: req.nodeLabels,
          });
        log.info('build claimed', { build: `${ref.namespace}/${ref.name}`, attempt: ref.attempt, agent: req.agent });
        return {
          build: buildToProto(build),
          pushCredentials: credentials(pushCredentials),
          sourceCredentials: credentials(sourceCredentials),
          pullCredentials: credentials(pullCredentials),
          buildSecrets,
          sourceImageCredentials: sourceImageCredentials.map((c) => ({
            name: c.name,
            credentials: credentials(c.credentials),
          })),
          unprivilegedRequired: this.unprivileged.required(build.value) ?? '',
        };
      }),
      RecordSourceImages: unary(log, 'RecordSourceImages', async (req, call) => {
        identify(call, req.agent);
        const extra = [...agentName(req.agent)];
        if (req.images.length > MAX_SOURCE_IMAGES)
          extra.push({ field: 'images', message: `must be at most ${MAX_SOURCE_IMAGES}, got ${req.images.length}` });
        req.images.forEach((image, i) => {
          if (!MANIFEST_DIGEST.test(image.digest))
            extra.push({
              field: `images[${i}].digest`,
              message: `"${image.digest.slice(0, 80)}" is not a sha256 digest`,
            });
        });
        const ref = buildRef(req.build, extra);
        const build = await reports.recordSourceImages(ref, {
          agent: req.agent,
          images: req.images.map((i) => ({ from: i.from, digest: i.digest })),
        });
        return buildToProto(build);
      }),
      Heartbeat: unary(log, 'Heartbeat', async (req, call) => {
        identify(call, req.agent);
        const errors = [
          ...agentName(req.agent),
          ...nodeName(req.node),
          ...required(req.instance, 'instance'),
          ...nodeLabels(req.nodeLabels),
        ];
        if (req.isolation && !ISOLATIONS.includes(req.isolation))
          errors.push({
            field: 'isolation',
            message: `"${req.isolation.slice(0, 40)}" is not one of ${ISOLATIONS.join(', ')}`,
          });
        if (req.instance.length > 128)
          errors.push({ field: 'instance', message: `must be at most 128 characters, got ${req.instance.length}` });
        errors.push(
          ...capacity(req.capacity),
          ...cacheFigures(req.cache),
          ...warmLists(req.warmConfigs, req.warmImages),
        );
        const cpuMillis = Number(req.allocatable?.cpuMillis ?? 0);
        const memoryBytes = Number(req.allocatable?.memoryBytes ?? 0);
        if (!(Number.isSafeInteger(cpuMillis) && cpuMillis >= 0))
          errors.push({
            field: 'allocatable.cpuMillis',
            message: `must be a whole number of millicores, got ${cpuMillis}`,
          });
        if (!(Number.isSafeInteger(memoryBytes) && memoryBytes >= 0))
          errors.push({
            field: 'allocatable.memoryBytes',
            message: `must be a whole number of bytes, got ${memoryBytes}`,
          });
        const running = req.running.map((r, i) => buildRef(r, [], `running[${i}]`));
        if (errors.length > 0) throw new InvalidInputError(errors, 'heartbeat');
        const answer = await reports.heartbeat({
          agent: req.agent,
          node: req.node,
          instance: req.instance,
          running,
          nodeLabels: req.nodeLabels,
          cordoned: req.cordoned,
          capacity: req.capacity > 0 ? req.capacity : undefined,
          cache: req.cache
            ? {
                imageBytes: req.cache.imageBytes,
                gcReclaimedBytes: req.cache.gcReclaimedBytes,
                nodeCacheHits: req.cache.nodeCacheHits,
                nodeCacheMisses: req.cache.nodeCacheMisses,
              }
            : undefined,
          allocatable:
            cpuMillis || memoryBytes
              ? { ...(cpuMillis ? { cpuMillis } : {}), ...(memoryBytes ? { memoryBytes } : {}) }
              : undefined,
          draining: req.draining,
          warm: { configs: req.warmConfigs, images: req.warmImages },
          limitsDockerfileBuilds: req.limitsDockerfileBuilds,
          daemonPerBuild: req.daemonPerBuild,
          isolation: req.isolation,
        });
        return {
          stop: answer.stop,
          unclaimed: answer.unclaimed.map((j) => ({
            build: { namespace: j.namespace, name: j.build, attempt: j.attempt },
            placement: j.placement,
          })),
        };
      }),
      CompleteBuild: unary(log, 'CompleteBuild', async (req, call) => {
        identify(call, req.agent);
        const extra = [
          ...agentName(req.agent),
          ...required(req.output?.image, 'output.image'),
          ...required(req.output?.digest, 'output.digest'),
        ];
        if (req.output?.digest && !/^sha256:[0-9a-f]{64}$/.test(req.output.digest)) {
          extra.push({ field: 'output.digest', message: `"${req.output.digest}" is not a sha256 digest` });
        }
        const stages = buildStages(req.stages, extra);
        const ref = buildRef(req.build, extra);
        const build = await reports.finish(ref, {
          agent: req.agent,
          phase: 'Complete',
          stages,
          exitCode: 0,
          output: { image: req.output!.image, digest: req.output!.digest },
          commit: req.commit || undefined,
          logLines: req.logLines,
        });
        log.info('build complete', {
          build: `${ref.namespace}/${ref.name}`,
          attempt: ref.attempt,
          agent: req.agent,
          digest: req.output!.digest,
        });
        return buildToProto(build);
      }),
      FailBuild: unary(log, 'FailBuild', async (req, call) => {
        identify(call, req.agent);
        const extra = [...agentName(req.agent), ...required(req.reason, 'reason')];
        if (!FAILURE_PHASES.has(req.phase))
          extra.push({ field: 'phase', message: `must be Failed, Error or Cancelled, got "${req.phase}"` });
        const stages = buildStages(req.stages, extra);
        const snippetBytes = Buffer.byteLength(req.logSnippet);
        if (snippetBytes > MAX_LOG_SNIPPET_BYTES)
          extra.push({
            field: 'logSnippet',
            message: `must be at most ${MAX_LOG_SNIPPET_BYTES} bytes, got ${snippetBytes}`,
          });
        const ref = buildRef(req.build, extra);
        const build = await reports.finish(ref, {
          agent: req.agent,
          stages,
          logSnippet: req.logSnippet || undefined,
          phase: req.phase as 'Failed' | 'Error' | 'Cancelled',
          reason: req.reason,
          message: req.message || undefined,
          exitCode: req.exitCode >= 0 ? req.exitCode : undefined,
          commit: req.commit || undefined,
          logLines: req.logLines,
        });
        log.info('build failed', {
          build: `${ref.namespace}/${ref.name}`,
          attempt: ref.attempt,
          agent: req.agent,
          reason: req.reason,
        });
        return buildToProto(build);
      }),
    };
  }
}

/**
 * The names a verified client certificate gives its holder: the subject's CN and the DNS
 * subjectAltNames. The TLS layer has already refused certificates the client CA did not sign.
 * @throws PermissionDeniedError when `agent` is not one of them.
 */
function certifiedAgent(call: grpc.ServerUnaryCall<unknown, unknown>, agent: string): void {
  const cert = call.getAuthContext().sslPeerCertificate;
  const names = new Set<string>();
  const cn = cert?.subject?.CN;
  if (typeof cn === 'string') names.add(cn);
  for (const san of (cert?.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(san);
    if (m) names.add(m[1]!.trim());
  }
  if (names.size === 0) throw new PermissionDeniedError('AgentService needs a client certificate that names the agent');
  if (!names.has(agent))
    throw new PermissionDeniedError(
      `the client certificate names ${[...names].map((n) => `"${n}"`).join(', ')}, not agent "${agent}"`,
    );
}

function credentials(s: RegistrySecret | undefined) {
  return s
    ? {
        registry: s.registry,
        username: s.username,
        password: s.password,
        sshPrivateKey: s.sshPrivateKey ?? '',
        knownHosts: s.knownHosts ?? '',
      }
    : null;
}

function agentName(value: string | undefined): FieldError[] {
  const problem = agentNameProblem(value ?? '');
  return problem ? [{ field: 'agent', message: problem }] : [];
}

function nodeName(value: string | undefined): FieldError[] {
  const problem = agentNameProblem(value ?? '');
  return problem ? [{ field: 'node', message: problem }] : [];
}

/** A node's labels, by Kubernetes' rules for label keys and values (at most 100 of them). */
function nodeLabels(labels: Record<string, string> | undefined): FieldError[] {
  const entries = Object.entries(labels ?? {});
  if (entries.length > 100)
    return [{ field: 'nodeLabels', message: `must be at most 100 labels, got ${entries.length}` }];
  return entries.flatMap(([k, v]) => {
    const problem = labelKeyProblem(k) ?? labelValueProblem(v);
    return problem ? [{ field: `nodeLabels[${JSON.stringify(k.slice(0, 80))}]`, message: problem }] : [];
  });
}

/** Builds the agent runs at once at most: 0 (not said) up to MAX_AGENT_CONCURRENCY. */
function capacity(value: number): FieldError[] {
  if (Number.isInteger(value) && value >= 0 && value <= MAX_AGENT_CONCURRENCY) return [];
  return [
    {
      field: 'capacity',
      message: `must be a whole number from 0 (not said) to ${MAX_AGENT_CONCURRENCY}, got ${value}`,
    },
  ];
}

/** Byte and pull counts: whole, not negative, and exact as a JavaScript number (below 2^53). */
function cacheFigures(cache: AgentCacheFigures__Output | null): FieldError[] {
  if (!cache) return [];
  return (['imageBytes', 'gcReclaimedBytes', 'nodeCacheHits', 'nodeCacheMisses'] as const).flatMap((k) =>
    Number.isSafeInteger(cache[k]) && cache[k] >= 0
      ? []
      : [{ field: `cache.${k}`, message: `must be a whole number from 0 to 2^53-1, got ${cache[k]}` }],
  );
}

/** Most entries of each warm list an agent may advertise. */
export const MAX_WARM_ENTRIES = 100;

/** The warm configs (`namespace/name`) and images an agent advertises: bounded, and names only. */
function warmLists(configs: string[], images: string[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const [field, list] of [
    ['warmConfigs', configs],
    ['warmImages', images],
  ] as const) {
    if (list.length > MAX_WARM_ENTRIES)
      errors.push({ field, message: `must have at most ${MAX_WARM_ENTRIES} entries, got ${list.length}` });
    const bad = list.findIndex((v) => v.length === 0 || v.length > 512 || /\s/.test(v));
    if (bad >= 0)
      errors.push({ field: `${field}[${bad}]`, message: 'must be a name of 1 to 512 characters without spaces' });
  }
  return errors;
}

/** An RFC 3339 timestamp, as toISOString writes them (offsets allowed). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** Longest a stage may have taken: a year, far past any deadline a build could have. */
const MAX_STAGE_MS = 366 * 24 * 3600 * 1000;

/**
 * The stages a report carries, checked: known names, each at most once and in the order stages
 * run, RFC 3339 start timestamps, and whole non-negative durations. Problems go into `errors`.
 */
function buildStages(stages: BuildStage__Output[], errors: FieldError[]): BuildStage[] {
  if (stages.length > BUILD_STAGE_NAMES.length) {
    errors.push({
      field: 'stages',
      message: `must be at most ${BUILD_STAGE_NAMES.length} stages, got ${stages.length}`,
    });
    return [];
  }
  let last = -1;
  return stages.map((s, i) => {
    const at = `stages[${i}]`;
    const order = BUILD_STAGE_NAMES.indexOf(s.name as BuildStageName);
    if (order < 0)
      errors.push({
        field: `${at}.name`,
        message: `must be one of ${BUILD_STAGE_NAMES.join(', ')}, got "${s.name.slice(0, 80)}"`,
      });
    else if (order <= last)
      errors.push({
        field: `${at}.name`,
        message: `"${s.name}" must come after ${BUILD_STAGE_NAMES[last]}, once: stages are reported in the order they ran`,
      });
    else last = order;
    if (
      s.startTimestamp.length > 40 ||
      !TIMESTAMP.test(s.startTimestamp) ||
      Number.isNaN(Date.parse(s.startTimestamp))
    ) {
      errors.push({
        field: `${at}.startTimestamp`,
        message: `must be an RFC 3339 timestamp, got "${s.startTimestamp.slice(0, 80)}"`,
      });
    }
    if (!Number.isSafeInteger(s.durationMs) || s.durationMs < 0 || s.durationMs > MAX_STAGE_MS) {
      errors.push({
        field: `${at}.durationMs`,
        message: `must be a whole number of milliseconds from 0 to ${MAX_STAGE_MS}, got ${s.durationMs}`,
      });
    }
    return { name: s.name as BuildStageName, startTimestamp: s.startTimestamp, durationMs: s.durationMs };
  });
}

function required(value: string | undefined, field: string): FieldError[] {
  return value ? [] : [{ field, message: 'is required' }];
}

function buildRef(ref: BuildRef__Output | null, extra: FieldError[], at = 'build'): BuildRef {
  const errors = [
    ...nameErrors(ref?.namespace, `${at}.namespace`),
    ...nameErrors(ref?.name, `${at}.name`),
    ...(ref && ref.attempt > 0 ? [] : [{ field: `${at}.attempt`, message: 'must be at least 1' }]),
    ...extra,
  ];
  if (errors.length > 0) throw new InvalidInputError(errors, 'report');
  return { namespace: ref!.namespace, name: ref!.name, attempt: ref!.attempt };
}
