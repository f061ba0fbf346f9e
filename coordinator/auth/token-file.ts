import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidInputError, errorMessage, type FieldError } from '../../common/errors.js';
import { UnauthenticatedError } from './errors.js';
import type { UserInfo } from './types.js';

/** Every user a token authenticates is in this group too, as in Kubernetes. */
export const AUTHENTICATED_GROUP = 'system:authenticated';

interface TokenEntry {
  /** SHA-256 of the token: only digests are kept, and compared in constant time. */
  digest: Buffer;
  user: UserInfo;
}

/**
 * Static bearer tokens, from a file in the format of kube-apiserver's `--token-auth-file`: one
 * `token,user,uid[,"group1,group2"]` a line (CSV, so a list of groups is quoted). Blank lines
 * and lines starting with `#` are skipped. The file is read once, at start.
 *
 * Lookups hash the presented token and compare it with every entry's digest with
 * `timingSafeEqual`, without stopping at a match, so the time taken says nothing about which
 * tokens exist. Tokens are never part of an error message.
 */
export class TokenAuthenticator {
  private constructor(private readonly entries: readonly TokenEntry[]) {}

  /** @throws InvalidInputError naming `setting` and the line at fault (never the token). */
  static async fromFile(file: string, setting: string): Promise<TokenAuthenticator> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new InvalidInputError(
        [{ field: setting, message: `cannot read "${file}": ${errorMessage(err)}` }],
        'token file',
      );
    }
    return TokenAuthenticator.parse(text, setting);
  }

  /** @throws InvalidInputError naming `setting` and the line at fault. */
  static parse(text: string, setting: string): TokenAuthenticator {
    const entries: TokenEntry[] = [];
    const errors: FieldError[] = [];
    const seen = new Map<string, number>();
    text.split(/\r?\n/).forEach((line, i) => {
      const n = i + 1;
      if (!line.trim() || line.trimStart().startsWith('#')) return;
      const fields = parseCsvLine(line);
      if (!fields) return void errors.push({ field: setting, message: `line ${n}: unbalanced quotes` });
      const [token = '', username = '', uid = '', groups = ''] = fields.map((f) => f.trim());
      if (fields.length < 3 || fields.length > 4)
        return void errors.push({
          field: setting,
          message: `line ${n}: want token,user,uid[,groups], got ${fields.length} columns`,
        });
      if (!token) return void errors.push({ field: setting, message: `line ${n}: the token is empty` });
      if (!username) return void errors.push({ field: setting, message: `line ${n}: the user is empty` });
      const digest = sha256(token);
      const hex = digest.toString('hex');
      if (seen.has(hex))
        return void errors.push({ field: setting, message: `line ${n}: the same token as line ${seen.get(hex)}` });
      seen.set(hex, n);
      const named = groups
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean);
      entries.push({
        digest,
        user: { username, ...(uid ? { uid } : {}), groups: [...new Set([...named, AUTHENTICATED_GROUP])] },
      });
    });
    if (errors.length > 0) throw new InvalidInputError(errors, 'token file');
    return new TokenAuthenticator(entries);
  }

  /** How many tokens the file holds. */
  get size(): number {
    return this.entries.length;
  }

  /** The user the token belongs to. @throws UnauthenticatedError for an unknown token. */
  authenticate(token: string): UserInfo {
    const digest = sha256(token);
    let found: UserInfo | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(e.digest, digest) && !found) found = e.user;
    }
    if (!found) throw new UnauthenticatedError('invalid bearer token');
    return structuredClone(found);
  }
}

/** The token of an `Authorization: Bearer TOKEN` header; undefined for none or another scheme. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** One CSV record (RFC 4180 quoting, no line breaks inside); undefined when quotes do not balance. */
function parseCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return undefined;
  out.push(field);
  return out;
}
