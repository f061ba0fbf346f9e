import type { FieldError } from '../common/errors.js';
import { parseDuration } from '../common/duration.js';
import { parseQuantity } from '../common/quantity.js';
import { hostPortProblem } from '../common/settings/checks.js';
import { integer, text, type ConfigOf } from '../common/settings/setting.js';
import { defaultsOf, envNames, resolveSettings, settingsFromEnv } from '../common/settings/settings.js';
import { logLevel } from '../common/settings/shared.js';

/** Everything the node cache can be told, declared once; docs/settings.md is made from it. */
export const NODE_CACHE_SETTINGS = {
  /** The registry images are pulled through from: scheme, host and port, no path or credentials. */
  upstream: text({
    env: 'SLIPWAY_CACHE_UPSTREAM',
    default: 'https://registry-1.docker.io',
    secret: true,
    check: upstreamProblem,
    doc: 'The registry images are pulled through from: scheme://host[:port], no path or credentials.',
    chart: 'nodeCache.upstream',
  }),
  /** Credentials for the upstream (both or neither). Never logged, never in an error. */
  upstreamUsername: text({
    env: 'SLIPWAY_CACHE_UPSTREAM_USERNAME',
    default: '',
    check: (v) => (v.includes(':') ? 'must not contain ":"' : undefined),
    doc: 'User name at the upstream (with the password); unset: anonymous pulls.',
    chart: 'nodeCache.upstreamCredentials.existingSecret',
  }),
  upstreamPassword: text({
    env: 'SLIPWAY_CACHE_UPSTREAM_PASSWORD',
    default: '',
    secret: true,
    doc: 'Password at the upstream. Never logged.',
    chart: 'nodeCache.upstreamCredentials.existingSecret',
  }),
  /** host:port the mirror is served on (what private daemons get as --registry-mirror). */
  listen: text({
    env: 'SLIPWAY_CACHE_LISTEN',
    default: '127.0.0.1:5001',
    check: (v) => hostPortProblem(v, { portZero: false, optional: false }),
    doc: 'host:port the mirror is served on.',
    chart: '127.0.0.1:nodeCache.port',
  }),
  /** The cache's folder: the registry's config and its filesystem storage. */
  root: text({
    env: 'SLIPWAY_CACHE_ROOT',
    default: '/var/lib/slipway/node-cache',
    check: (v) => (v ? undefined : 'must name a folder'),
    doc: "The cache's folder: the registry's config and its storage.",
    chart: '/var/lib/slipway/node-cache',
  }),
  /** Storage limit, as a quantity ("20Gi"): sweeps evict least recently used blobs down to it. */
  maxBytes: text({
    env: 'SLIPWAY_CACHE_MAX_BYTES',
    default: '20Gi',
    check: (v) =>
      (parseQuantity(v) ?? 0) > 0 ? undefined : `"${v}" is not a positive number of bytes ("20Gi", "500M")`,
    doc: 'Storage limit (a quantity): sweeps evict least recently used blobs down to it.',
    chart: 'nodeCache.maxBytes',
  }),
  /** Blobs not pulled for this long are evicted: milliseconds or a duration ("7d", "12h"). */
  ttl: text({
    env: 'SLIPWAY_CACHE_TTL',
    // The same as registry 2.8's own proxy scheduler, which cannot be changed.
    default: '7d',
    check: (v) =>
      (parseDuration(v) ?? 0) > 0
        ? undefined
        : `"${v}" is not a positive duration (milliseconds, or "90s", "12h", "7d")`,
    doc: 'Blobs not pulled for this long are evicted: milliseconds or a duration ("12h").',
    chart: 'nodeCache.ttl',
  }),
  /** How often a sweep (TTL, then limit) runs; 0 turns eviction off. */
  sweepIntervalMs: integer({
    env: 'SLIPWAY_CACHE_SWEEP_INTERVAL_MS',
    default: 300_000,
    min: 0,
    check: (v) => (v === 0 || v >= 100 ? undefined : 'must be 0 (eviction off) or at least 100'),
    doc: 'How often a sweep (TTL, then limit) runs; 0 turns eviction off.',
    chart: 'nodeCache.sweepIntervalMs',
  }),
  /** host:port to serve Prometheus metrics at /metrics on; empty: none. */
  metricsListen: text({
    env: 'SLIPWAY_METRICS_ADDR',
    default: '',
    check: hostPortProblem,
    doc: 'host:port to serve Prometheus metrics at /metrics (and GET /healthz) on; unset: none.',
    chart: '127.0.0.1:nodeCache.metricsPort',
  }),
  /** The docker-registry (distribution 2.8) binary. */
  registryBinary: text({
    env: 'SLIPWAY_REGISTRY_BINARY',
    default: '/usr/bin/docker-registry',
    check: (v) => (v ? undefined : 'must name the docker-registry binary'),
    doc: 'The docker-registry (distribution 2.8) binary.',
  }),
  logLevel,
};

/** The node cache's settings: one field per declaration above. */
export type NodeCacheConfig = ConfigOf<typeof NODE_CACHE_SETTINGS>;

/** Environment variables the node cache reads (and the chart sets), by config field. */
export const NODE_CACHE_ENV = envNames(NODE_CACHE_SETTINGS);

export function defaultNodeCacheConfig(): NodeCacheConfig {
  return defaultsOf(NODE_CACHE_SETTINGS);
}

/** The settings the environment gives; unset variables give nothing, so defaults stay. @throws InvalidInputError on an empty or malformed one. */
export function nodeCacheConfigFromEnv(env: NodeJS.ProcessEnv): Partial<NodeCacheConfig> {
  return settingsFromEnv(NODE_CACHE_SETTINGS, env, 'node cache configuration');
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
  const e = NODE_CACHE_ENV;
  const c = resolveSettings(NODE_CACHE_SETTINGS, overrides, 'node cache configuration', (c): FieldError[] =>
    !c.upstreamUsername !== !c.upstreamPassword
      ? [
          {
            field: c.upstreamUsername ? e.upstreamPassword : e.upstreamUsername,
            message: `must be set together with ${c.upstreamUsername ? e.upstreamUsername : e.upstreamPassword}`,
          },
        ]
      : [],
  );
  return { ...c, maxBytesValue: Math.floor(parseQuantity(c.maxBytes)!), ttlMs: parseDuration(c.ttl)! };
}

/** What is wrong with the upstream URL, never repeating it (a mistyped one may hold a password). */
function upstreamProblem(upstream: string): string | undefined {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    // Not a URL, so it cannot hold userinfo we could recognise: say so without repeating it.
    return 'is not a URL (https://host[:port])';
  }
  if (url.username || url.password)
    return `must not carry credentials: set ${NODE_CACHE_ENV.upstreamUsername} and ${NODE_CACHE_ENV.upstreamPassword}`;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be an http or https URL, not ${url.protocol}`;
  if (url.pathname !== '/' || url.search || url.hash)
    return 'must be scheme://host[:port], without a path, query or fragment';
  return undefined;
}
