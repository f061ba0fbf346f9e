import { InvalidInputError, type FieldError } from '../common/errors.js';
import { parseDuration } from '../common/duration.js';
import type { LogLevel } from '../common/log.js';
import { parseQuantity } from '../common/quantity.js';

/** Environment variables the node cache reads (and the chart sets): all of them, here. */
export const NODE_CACHE_ENV = {
  upstream: 'SLIPWAY_CACHE_UPSTREAM',
  upstreamUsername: 'SLIPWAY_CACHE_UPSTREAM_USERNAME',
  upstreamPassword: 'SLIPWAY_CACHE_UPSTREAM_PASSWORD',
  listen: 'SLIPWAY_CACHE_LISTEN',
  root: 'SLIPWAY_CACHE_ROOT',
  maxBytes: 'SLIPWAY_CACHE_MAX_BYTES',
  ttl: 'SLIPWAY_CACHE_TTL',
  sweepIntervalMs: 'SLIPWAY_CACHE_SWEEP_INTERVAL_MS',
  metricsListen: 'SLIPWAY_METRICS_ADDR',
  registryBinary: 'SLIPWAY_REGISTRY_BINARY',
  logLevel: 'SLIPWAY_LOG_LEVEL',
} as const;

export interface NodeCacheConfig {
  /** The registry images are pulled through from: scheme, host and port, no path or credentials. */
  upstream: string;
  /** Credentials for the upstream (both or neither). Never logged, never in an error. */
  upstreamUsername: string;
  upstreamPassword: string;
  /** host:port the mirror is served on (what private daemons get as --registry-mirror). */
  listen: string;
  /** The cache's folder: the registry's config and its filesystem storage. */
  root: string;
  /** Storage limit, as a quantity ("20Gi"): sweeps evict least recently used blobs down to it. */
  maxBytes: string;
  /** Blobs not pulled for this long are evicted: milliseconds or a duration ("7d", "12h"). */
  ttl: string;
  /** How often a sweep (TTL, then limit) runs; 0 turns eviction off. */
  sweepIntervalMs: number;
  /** host:port to serve Prometheus metrics at /metrics on; empty: none. */
  metricsListen: string;
  /** The docker-registry (distribution 2.8) binary. */
  registryBinary: string;
  logLevel: LogLevel;
}

export function defaultNodeCacheConfig(): NodeCacheConfig {
  return {
    upstream: 'https://registry-1.docker.io',
    upstreamUsername: '',
    upstreamPassword: '',
    listen: '127.0.0.1:5001',
    root: '/var/lib/slipway/node-cache',
    maxBytes: '20Gi',
    // The same as registry 2.8's own proxy scheduler, which cannot be changed.
    ttl: '7d',
    sweepIntervalMs: 300_000,
    metricsListen: '',
    registryBinary: '/usr/bin/docker-registry',
    logLevel: 'info',
  };
}

export function nodeCacheConfigFromEnv(env: NodeJS.ProcessEnv): Partial<NodeCacheConfig> {
  const c: Partial<NodeCacheConfig> = {};
  const e = NODE_CACHE_ENV;
  if (env[e.upstream]) c.upstream = env[e.upstream]!;
  if (env[e.upstreamUsername]) c.upstreamUsername = env[e.upstreamUsername]!;
  if (env[e.upstreamPassword]) c.upstreamPassword = env[e.upstreamPassword]!;
  if (env[e.listen]) c.listen = env[e.listen]!;
  if (env[e.root]) c.root = env[e.root]!;
  if (env[e.maxBytes]) c.maxBytes = env[e.maxBytes]!;
  if (env[e.ttl]) c.ttl = env[e.ttl]!;
  if (env[e.sweepIntervalMs]) c.sweepIntervalMs = Number(env[e.sweepIntervalMs]);
  if (env[e.metricsListen]) c.metricsListen = env[e.metricsListen]!;
  if (env[e.registryBinary]) c.registryBinary = env[e.registryBinary]!;
  if (env[e.logLevel]) c.logLevel = env[e.logLevel] as LogLevel;
  return c;
}

/** A resolved configuration with its quantities parsed. */
export interface ResolvedNodeCacheConfig extends NodeCacheConfig {
  maxBytesValue: number;
  ttlMs: number;
}

/**
 * Defaults, then `overrides`, checked once. Messages never repeat the password or the upstream
 * URL (a mistyped one may hold credentials).
 * @throws InvalidInputError naming every setting at fault.
 */
export function resolveNodeCacheConfig(overrides: Partial<NodeCacheConfig>): ResolvedNodeCacheConfig {
  const c = { ...defaultNodeCacheConfig(), ...overrides };
  const e = NODE_CACHE_ENV;
  const errors: FieldError[] = [];
  errors.push(...upstreamErrors(c.upstream));
  if (!c.upstreamUsername !== !c.upstreamPassword) {
    errors.push({ field: c.upstreamUsername ? e.upstreamPassword : e.upstreamUsername, message: `must be set together with ${c.upstreamUsername ? e.upstreamUsername : e.upstreamPassword}` });
  }
  if (c.upstreamUsername.includes(':')) errors.push({ field: e.upstreamUsername, message: 'must not contain ":"' });
  if (!isHostPort(c.listen)) errors.push({ field: e.listen, message: `"${c.listen}" is not host:port (a port from 1 to 65535)` });
  if (!c.root) errors.push({ field: e.root, message: 'must name a folder' });
  const maxBytesValue = parseQuantity(c.maxBytes);
  if (maxBytesValue === undefined || !(maxBytesValue > 0)) errors.push({ field: e.maxBytes, message: `"${c.maxBytes}" is not a positive number of bytes ("20Gi", "500M")` });
  const ttlMs = parseDuration(c.ttl);
  if (ttlMs === undefined || !(ttlMs > 0)) errors.push({ field: e.ttl, message: `"${c.ttl}" is not a positive duration (milliseconds, or "90s", "12h", "7d")` });
  if (!(c.sweepIntervalMs === 0 || c.sweepIntervalMs >= 100)) errors.push({ field: e.sweepIntervalMs, message: 'must be 0 (eviction off) or at least 100' });
  if (c.metricsListen && !isHostPort(c.metricsListen, true)) errors.push({ field: e.metricsListen, message: `"${c.metricsListen}" is not host:port` });
  if (!c.registryBinary) errors.push({ field: e.registryBinary, message: 'must name the docker-registry binary' });
  if (!['debug', 'info', 'warn', 'error'].includes(c.logLevel)) errors.push({ field: e.logLevel, message: `"${c.logLevel}" is not a level` });
  if (errors.length > 0) throw new InvalidInputError(errors, 'node cache configuration');
  return { ...c, maxBytesValue: Math.floor(maxBytesValue!), ttlMs: ttlMs! };
}

function isHostPort(text: string, allowPortZero = false): boolean {
  const m = /^([^\s:]*|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(text);
  if (!m) return false;
  const port = Number(m[2]);
  return port <= 65535 && (port > 0 || allowPortZero);
}

function upstreamErrors(upstream: string): FieldError[] {
  const field = NODE_CACHE_ENV.upstream;
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    // Not a URL, so it cannot hold userinfo we could recognise: say so without repeating it.
    return [{ field, message: 'is not a URL (https://host[:port])' }];
  }
  if (url.username || url.password) {
    return [{ field, message: `must not carry credentials: set ${NODE_CACHE_ENV.upstreamUsername} and ${NODE_CACHE_ENV.upstreamPassword}` }];
  }
  // The value itself is never echoed: a mistyped one may still hold a password.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return [{ field, message: `must be an http or https URL, not ${url.protocol}` }];
  if (url.pathname !== '/' || url.search || url.hash) return [{ field, message: 'must be scheme://host[:port], without a path, query or fragment' }];
  return [];
}
