import { existsSync } from 'node:fs';
import type { FieldError } from '../errors.js';

/** Checks that settings of several processes share (a declaration's `check`, or a cross-field check). */

/** A setting's name (its environment variable) and its value. */
export type NamedValue = readonly [field: string, value: string];

/** A file that must be there; `''` (none) passes. */
export function fileProblem(path: string): string | undefined {
  return path && !existsSync(path) ? `no file "${path}"` : undefined;
}

/**
 * host:port, the host a name, an IPv4 address, `[ipv6]` or empty (every interface), the port
 * 1 to 65535, or 0 (a free one) unless `portZero` is false. `''` (none) passes when `optional`.
 */
export function hostPortProblem(text: string, { portZero = true, optional = true } = {}): string | undefined {
  if (!text && optional) return undefined;
  const m = /^([^\s:[\]]*|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : -1;
  if (port <= 65535 && (port > 0 || (portZero && port === 0))) return undefined;
  return `"${text}" is not host:port${portZero ? '' : ' (a port from 1 to 65535)'}`;
}

/** Two settings that only make sense together (a certificate and its key): the one missing when the other is set. */
export function setTogether([a, aValue]: NamedValue, [b, bValue]: NamedValue): FieldError[] {
  if (Boolean(aValue) === Boolean(bValue)) return [];
  return aValue ? [{ field: b, message: `must be set with ${a}` }] : [{ field: a, message: `must be set with ${b}` }];
}

/** Why `registries` (host[:port] each, as dockerd's --insecure-registry takes them) cannot be used; undefined when they can. */
export function registryHostsProblem(registries: readonly string[]): string | undefined {
  return registries
    .map((r) => (/^[^\s/:]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(r) ? '' : `"${r}" is not host[:port]`))
    .find(Boolean);
}
