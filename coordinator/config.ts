import { hostname } from 'node:os';
import { InvalidInputError, type FieldError } from '../common/errors.js';
import type { LogLevel } from '../common/log.js';

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
} as const;

export interface CoordinatorConfig {
  /** NATS server URLs. */
  natsServers: string[];
  /** host:port for gRPC; port 0 picks a free one. */
  grpcListen: string;
  /** Names this coordinator in logs and in NATS. */
  id: string;
  /** host:port of the Kubernetes API (group build.slipway.dev); empty: not served. Port 0 picks a free one. */
  kubeApiListen: string;
  /** Replicas of the KV buckets and the jobs stream (3 on a NATS cluster). */
  replicas: number;
  controllerWorkers: number;
  resyncIntervalMs: number;
  /** A Running build whose agent has not heartbeated for this long is lost. */
  agentGraceMs: number;
  leaseCheckIntervalMs: number;
  /** Logs older than this are dropped. */
  logMaxAgeMs: number;
  /** The log stream keeps at most this many bytes, oldest logs dropped first. */
  logMaxBytes: number;
  /** Largest uploaded build context accepted, in bytes as sent. */
  maxContextBytes: number;
  /** 32 bytes sealing secrets at rest, the same on every coordinator; without it secrets are refused. */
  secretKey?: Buffer;
  logLevel: LogLevel;
}

export function defaultCoordinatorConfig(): CoordinatorConfig {
  return {
    natsServers: ['nats://127.0.0.1:4222'],
    grpcListen: '127.0.0.1:7070',
    kubeApiListen: '',
    id: `coordinator-${hostname()}-${process.pid}`,
    replicas: 1,
    controllerWorkers: 4,
    resyncIntervalMs: 30_000,
    agentGraceMs: 15_000,
    leaseCheckIntervalMs: 2000,
    logMaxAgeMs: 7 * 24 * 3600_000,
    logMaxBytes: 1024 ** 3,
    maxContextBytes: 500 * 1024 ** 2,
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
  if (env[e.id]) c.id = env[e.id]!;
  if (env[e.replicas]) c.replicas = Number(env[e.replicas]);
  if (env[e.logLevel]) c.logLevel = env[e.logLevel] as LogLevel;
  if (env[e.secretKey]) c.secretKey = Buffer.from(env[e.secretKey]!, 'base64');
  if (env[e.agentGraceMs]) c.agentGraceMs = Number(env[e.agentGraceMs]);
  if (env[e.logMaxAgeMs]) c.logMaxAgeMs = Number(env[e.logMaxAgeMs]);
  if (env[e.logMaxBytes]) c.logMaxBytes = Number(env[e.logMaxBytes]);
  if (env[e.maxContextBytes]) c.maxContextBytes = Number(env[e.maxContextBytes]);
  return c;
}

/** Defaults, then `overrides`, checked once. @throws InvalidInputError naming the setting. */
export function resolveCoordinatorConfig(overrides: Partial<CoordinatorConfig>): CoordinatorConfig {
  const c = { ...defaultCoordinatorConfig(), ...overrides };
  const errors: FieldError[] = [];
  if (c.natsServers.length === 0) errors.push({ field: COORDINATOR_ENV.natsUrl, message: 'must name at least one server' });
  if (!/^[^\s:]*:\d+$/.test(c.grpcListen)) errors.push({ field: COORDINATOR_ENV.grpcListen, message: `"${c.grpcListen}" is not host:port` });
  if (c.kubeApiListen && !/^[^\s:]*:\d+$/.test(c.kubeApiListen)) errors.push({ field: COORDINATOR_ENV.kubeApiListen, message: `"${c.kubeApiListen}" is not host:port` });
  if (![1, 3, 5].includes(c.replicas)) errors.push({ field: COORDINATOR_ENV.replicas, message: `must be 1, 3 or 5, got ${c.replicas}` });
  if (!['debug', 'info', 'warn', 'error'].includes(c.logLevel)) errors.push({ field: COORDINATOR_ENV.logLevel, message: `"${c.logLevel}" is not a level` });
  if (!(c.controllerWorkers >= 1)) errors.push({ field: 'controllerWorkers', message: 'must be at least 1' });
  if (c.secretKey && c.secretKey.length !== 32) errors.push({ field: COORDINATOR_ENV.secretKey, message: `must be 32 bytes in base64, got ${c.secretKey.length} bytes` });
  if (!(c.agentGraceMs >= 1000)) errors.push({ field: COORDINATOR_ENV.agentGraceMs, message: 'must be at least 1000' });
  if (!(c.logMaxAgeMs >= 60_000)) errors.push({ field: COORDINATOR_ENV.logMaxAgeMs, message: 'must be at least 60000' });
  if (!(c.maxContextBytes >= 1024)) errors.push({ field: COORDINATOR_ENV.maxContextBytes, message: 'must be at least 1024' });
  if (!(c.logMaxBytes >= 1024 ** 2)) errors.push({ field: COORDINATOR_ENV.logMaxBytes, message: 'must be at least 1 MiB' });
  if (errors.length > 0) throw new InvalidInputError(errors, 'coordinator configuration');
  return c;
}
