import { InvalidPageTokenError } from '../../common/errors.js';

/**
 * Where a listing goes on: the token a page answers (gRPC `next_page_token`, the Kubernetes
 * API's `metadata.continue`) and the next request brings back. Opaque to clients; it holds
 * what the listing is of (`kind`, `scope`), the key the next page starts after, and the
 * bucket's revision when the listing began.
 */
export interface PageCursor {
  /** The kind listed, e.g. "Build". */
  kind: string;
  /** The listing's namespace filter and other filters, e.g. `default.*?phase=Running`. */
  scope: string;
  /** The next page lists the keys after this one, in key order (key-order.ts). */
  after: string;
  /** The bucket's revision before the first page was read. */
  revision: number;
}

const VERSION = 1;

/** The cursor as a token: base64url of a small JSON object. */
export function encodePageToken(c: PageCursor): string {
  return Buffer.from(JSON.stringify({ v: VERSION, k: c.kind, s: c.scope, a: c.after, r: c.revision })).toString(
    'base64url',
  );
}

/**
 * The cursor a token holds, checked against the listing it is brought to.
 * @throws InvalidPageTokenError naming `field` when the token is malformed or was given for
 *   another kind or scope (another resource, namespace or filter).
 */
export function decodePageToken(token: string, expected: { kind: string; scope: string }, field: string): PageCursor {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    o = undefined;
  }
  const r = o as Record<string, unknown> | undefined;
  if (
    typeof r !== 'object' ||
    r === null ||
    r.v !== VERSION ||
    typeof r.k !== 'string' ||
    typeof r.s !== 'string' ||
    typeof r.a !== 'string' ||
    r.a === '' ||
    !Number.isSafeInteger(r.r) ||
    (r.r as number) < 0
  ) {
    throw new InvalidPageTokenError(field, 'is not a page token this server gave');
  }
  if (r.k !== expected.kind || r.s !== expected.scope) {
    throw new InvalidPageTokenError(
      field,
      `was given for another listing (of ${r.k}s, ${describeScope(r.s)}), not this one (of ${expected.kind}s, ${describeScope(expected.scope)})`,
    );
  }
  return { kind: r.k, scope: r.s, after: r.a, revision: r.r as number };
}

function describeScope(scope: string): string {
  return scope === '>' || scope.startsWith('>?') ? `every namespace${scope.slice(1)}` : `"${scope}"`;
}
