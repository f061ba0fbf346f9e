import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidInputError } from '../../common/errors.js';
import { gitRefProblem } from '../../api/validation.js';

/** The webhook triggers: who sends the delivery and how it proves it knows the secret. */
export type WebhookType = 'GitHub' | 'GitLab' | 'Generic';

/** A delivery as it arrived: headers, the raw body (what a signature covers), and for Generic the URL's secret. */
export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Generic: the secret segment of the URL (decoded). */
  urlSecret?: string;
}

/** A push the sender reports, in the terms a BuildConfig is matched against. */
export interface PushEvent {
  /** The full ref pushed (refs/heads/main); undefined: the config's own ref (a Generic delivery without one). */
  ref?: string;
  /** The commit to build; undefined: the ref's tip when the agent fetches it. */
  commit?: string;
  /** The repository's default branch, when the sender says (GitHub, GitLab). */
  defaultBranch?: string;
}

/** What an authenticated delivery asks for. */
export type WebhookEvent = { kind: 'ignored'; message: string } | { kind: 'push'; push: PushEvent };

/** One sender's protocol (github.ts, gitlab.ts, generic.ts). */
export interface WebhookProvider {
  readonly type: WebhookType;
  /** Whether a body must be sent (Generic's is optional). */
  readonly bodyRequired: boolean;
  /**
   * What is wrong with the delivery's credentials header (missing, malformed), checked before
   * any config is looked at, so the answer tells nothing about which configs exist; undefined
   * when it is well formed.
   */
  credentialsProblem(req: WebhookRequest): string | undefined;
  /** Whether the delivery carries `secret` (signature, token or URL secret), compared in constant time. */
  authenticate(req: WebhookRequest, secret: Buffer): boolean;
  /** The sender's id of this delivery, the same when it is delivered again; undefined: none given. */
  deliveryId(req: WebhookRequest): string | undefined;
  /**
   * What the authenticated delivery asks for; `payload` is the parsed body (undefined: none).
   * @throws InvalidInputError naming the payload field at fault
   */
  interpret(req: WebhookRequest, payload: unknown): WebhookEvent;
}

/** One header's value (the first, when repeated), or undefined. */
export function header(req: WebhookRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Whether `given` equals `secret`, in time that does not depend on where they differ or on
 * whether their lengths do: timingSafeEqual needs equal lengths, so it compares SHA-256 digests.
 */
export function secretEquals(given: Buffer, secret: Buffer): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** A full commit id: SHA-1 (40 hex digits) or SHA-256 (64). */
export const FULL_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A deleted ref's "after" commit. */
export const ZERO_COMMIT = /^0+$/;

export function payloadError(what: string, field: string, message: string): InvalidInputError {
  return new InvalidInputError([{ field, message }], `${what} payload`);
}

/** `value` as an object, or a 400 naming `field`. */
export function objectField(what: string, value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw payloadError(what, field, `must be a JSON object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

/** `value` as a string (undefined when absent and `optional`), or a 400 naming `field`. */
export function stringField(what: string, value: unknown, field: string, optional: true): string | undefined;
export function stringField(what: string, value: unknown, field: string, optional?: false): string;
export function stringField(what: string, value: unknown, field: string, optional = false): string | undefined {
  if ((value === undefined || value === null) && optional) return undefined;
  if (typeof value !== 'string') throw payloadError(what, field, `must be a string, got ${describe(value)}`);
  return value;
}

/** A ref the payload names, checked as git checks refs. */
export function refField(what: string, value: unknown, field: string): string {
  const ref = stringField(what, value, field);
  const problem = ref === '' ? 'must not be empty' : gitRefProblem(ref);
  if (problem) throw payloadError(what, field, problem);
  return ref;
}

/** A full commit id the payload names. */
export function commitField(what: string, value: unknown, field: string): string {
  const commit = stringField(what, value, field);
  if (!FULL_COMMIT.test(commit))
    throw payloadError(what, field, `must be a full commit id (40 or 64 lowercase hex digits), got ${clip(commit)}`);
  return commit;
}

/** A value for an error message: short, and only its kind for objects. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return clip(value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

export function clip(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
