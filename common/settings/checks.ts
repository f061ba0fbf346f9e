import { existsSync } from 'node:fs';
import type { FieldError } from '../errors.js';

/** A setting's name (its environment variable) and its value. */
export type Setting = readonly [field: string, value: string];

/** Every setting naming a file that is not there (unset ones are not checked). */
export function missingFiles(settings: readonly Setting[]): FieldError[] {
  return settings.filter(([, path]) => path && !existsSync(path)).map(([field, path]) => ({ field, message: `no file "${path}"` }));
}

/** Two settings that only make sense together (a certificate and its key): the one missing when the other is set. */
export function setTogether([a, aValue]: Setting, [b, bValue]: Setting): FieldError[] {
  if (Boolean(aValue) === Boolean(bValue)) return [];
  return aValue ? [{ field: b, message: `must be set with ${a}` }] : [{ field: a, message: `must be set with ${b}` }];
}

/** "true"/"false" (any case, or 1/0); anything else is returned as given, for the check to refuse. */
export function parseBoolean(text: string): boolean | string {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return text;
}
