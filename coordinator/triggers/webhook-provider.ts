import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidInputError } from '../../common/errors.js';
import type { WebhookTriggerType } from '../../api/types.js';
import { gitRefProblem } from '../../api/validation.js';

/** The webhook triggers: who sends the delivery and how it proves it knows the secret. */
export type WebhookType = WebhookTriggerType;

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
  /** The repository's default branch, when the sender says (GitHub, GitLab, Gitea). */
  defaultBranch?: string;
  /**
   * The sender never says which branch is the default (Bitbucket): a config that names no
   * branch cannot tell a push to it from others, so it starts nothing.
   */
  defaultBranchUnknown?: boolean;
}

/**
 * What an authenticated delivery asks for. A push may update several branches at once
 * (Bitbucket reports each change): the first one the config builds is built.
 */
export type WebhookEvent = { kind: 'ignored'; message: string } | { kind: 'push'; pushes: [PushEvent, ...PushEvent[]] };

/** One sender's protocol (github.ts, gitlab.ts, bitbucket.ts, gitea.ts, generic.ts). */
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
  /**
   * The headers naming the delivery (the same when it is delivered again), lower case, the
   * first present wins; none present: the delivery has no id and is never taken as a redelivery.
   */
  readonly deliveryHeaders: readonly string[];
  /**
   * What the authenticated delivery asks for; `payload` is the parsed body (undefined: none).
   * @throws InvalidInputError naming the payload field at fault
   */
  interpret(req: WebhookRequest, payload: unknown): WebhookEvent;
}

/** The delivery's id: the first of `provider.deliveryHeaders` it carries, or undefined. */
export function deliveryId(provider: WebhookProvider, req: WebhookRequest): string | undefined {
  for (const name of provider.deliveryHeaders) {
    const id = header(req, name);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** A header carrying a hex HMAC-SHA256 of the raw body, after `prefix` ('' for none). */
export interface HmacHeader {
  name: string;
  prefix: '' | 'sha256=';
}

/**
 * How senders that sign the body with HMAC-SHA256 under the secret (GitHub, Bitbucket, Gitea)
 * prove it: the first of `headers` present is the signature (a sender may send it under more than
 * one name); `hint` says where the secret is set, for a delivery without one.
 */
export function hmacSignature(
  headers: readonly [HmacHeader, ...HmacHeader[]],
  hint: string,
): Pick<WebhookProvider, 'credentialsProblem' | 'authenticate'> {
  const names = headers.map((h) => h.name).join(' or ');
  const signature = (req: WebhookRequest) => {
    for (const h of headers) {
      const value = header(req, h.name);
      if (value !== undefined) return { h, value };
    }
    return undefined;
  };
  return {
    credentialsProblem(req) {
      const s = signature(req);
      if (!s) return `the ${names} header is missing: ${hint}`;
      const form = s.h.prefix ? `"${s.h.prefix}" and 64 lowercase hex digits` : '64 lowercase hex digits';
      if (!s.value.startsWith(s.h.prefix) || !HEX_SHA256.test(s.value.slice(s.h.prefix.length)))
        return `the ${s.h.name} header is not ${form}`;
      return undefined;
    },
    authenticate(req, secret) {
      const s = signature(req)!;
      const given = Buffer.from(s.value.slice(s.h.prefix.length), 'hex');
      const expected = createHmac('sha256', secret).update(req.body).digest();
      // Both 32 bytes: credentialsProblem checked the form.
      return timingSafeEqual(given, expected);
    },
  };
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

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

/** `value` as an array, or a 400 naming `field`. */
export function arrayField(what: string, value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw payloadError(what, field, `must be a JSON array, got ${describe(value)}`);
  return value;
}

/** One ref a delivery reports as updated, as the sender names it. */
export interface RefUpdate {
  /** The full ref (refs/heads/main), already checked with refField. */
  ref: string;
  /** Its new commit, unchecked; all zeros when the ref was deleted. */
  sha: unknown;
  /** The payload field `sha` came from, for errors. */
  shaField: string;
  /** The sender says the ref was deleted. */
  deleted?: boolean;
  defaultBranch?: string;
  defaultBranchUnknown?: boolean;
}

/**
 * An updated ref as a push to build, or why it starts nothing (a deleted ref, not a branch).
 * @throws InvalidInputError when a branch's new commit is not a full commit id
 */
export function pushOf(what: string, u: RefUpdate): PushEvent | string {
  const sha = stringField(what, u.sha, u.shaField);
  if (u.deleted || ZERO_COMMIT.test(sha)) return `${u.ref} was deleted: nothing to build`;
  if (!u.ref.startsWith('refs/heads/')) return `${u.ref} is not a branch: only pushes to branches start builds`;
  const push: PushEvent = { ref: u.ref, commit: commitField(what, sha, u.shaField) };
  if (u.defaultBranch !== undefined) push.defaultBranch = u.defaultBranch;
  if (u.defaultBranchUnknown) push.defaultBranchUnknown = true;
  return push;
}

/** The pushes among `updates`, or, when there is none, the event that says why each starts nothing. */
export function pushesOf(updates: (PushEvent | string)[]): WebhookEvent {
  const pushes = updates.filter((u): u is PushEvent => typeof u !== 'string');
  if (pushes.length > 0) return { kind: 'push', pushes: pushes as [PushEvent, ...PushEvent[]] };
  const why = updates.filter((u): u is string => typeof u === 'string');
  return { kind: 'ignored', message: why.length > 0 ? why.join('; ') : 'the push updates no ref: nothing to build' };
}
