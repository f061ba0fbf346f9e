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
} as const;

export interface CoordinatorConfig {
  /** NATS server URLs. */
  natsServers: string[];
  /** host:port for gRPC; port 0 picks a free one. */
  grpcListen: string;
  /** Names this coordinator in logs and in NATS. */
  id: string;
  /** Replicas of the KV buckets and the jobs stream (3 on a NATS cluster). */
  replicas: number;
  controllerWorkers: number;
  resyncIntervalMs: number;
  logLevel: LogLevel;
}

export function defaultCoordinatorConfig(): CoordinatorConfig {
  return {
    natsServers: ['nats://127.0.0.1:4222'],
    grpcListen: '127.0.0.1:7070',
    id: `coordinator-${hostname()}-${process.pid}`,
    replicas: 1,
    controllerWorkers: 4,
    resyncIntervalMs: 30_000,
    logLevel: 'info',
  };
}

/** The settings the environment gives; unset variables give nothing, so defaults stay. */
export function coordinatorConfigFromEnv(env: NodeJS.ProcessEnv): Partial<CoordinatorConfig> {
  const c: Partial<CoordinatorConfig> = {};
  const e = COORDINATOR_ENV;
  if (env[e.natsUrl]) c.natsServers = env[e.natsUrl]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (env[e.grpcListen]) c.grpcListen = env[e.grpcListen]!;
  if (env[e.id]) c.id = env[e.id]!;
  if (env[e.replicas]) c.replicas = Number(env[e.replicas]);
  if (env[e.logLevel]) c.logLevel = env[e.logLevel] as LogLevel;
  return c;
}

/** Defaults, then `overrides`, checked once. @throws InvalidInputError naming the setting. */
export function resolveCoordinatorConfig(overrides: Partial<CoordinatorConfig>): CoordinatorConfig {
  const c = { ...defaultCoordinatorConfig(), ...overrides };
  const errors: FieldError[] = [];
  if (c.natsServers.length === 0) errors.push({ field: COORDINATOR_ENV.natsUrl, message: 'must name at least one server' });
  if (!/^[^\s:]*:\d+$/.test(c.grpcListen)) errors.push({ field: COORDINATOR_ENV.grpcListen, message: `"${c.grpcListen}" is not host:port` });
  if (![1, 3, 5].includes(c.replicas)) errors.push({ field: COORDINATOR_ENV.replicas, message: `must be 1, 3 or 5, got ${c.replicas}` });
  if (!['debug', 'info', 'warn', 'error'].includes(c.logLevel)) errors.push({ field: COORDINATOR_ENV.logLevel, message: `"${c.logLevel}" is not a level` });
  if (!(c.controllerWorkers >= 1)) errors.push({ field: 'controllerWorkers', message: 'must be at least 1' });
  if (errors.length > 0) throw new InvalidInputError(errors, 'coordinator configuration');
  return c;
}
