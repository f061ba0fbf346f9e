import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { UnauthenticatedError } from './errors.js';
import type { UserInfo } from './types.js';

/** Header names as kube-apiserver's `--requestheader-*` flags (and the aggregator) use them. */
export interface RequestHeaderNames {
  usernameHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

/** The aggregator's defaults (the `extension-apiserver-authentication` ConfigMap's). */
export function defaultRequestHeaderNames(): RequestHeaderNames {
  return {
    usernameHeaders: ['X-Remote-User'],
    groupHeaders: ['X-Remote-Group'],
    extraHeaderPrefixes: ['X-Remote-Extra-'],
  };
}

export interface FrontProxyOptions extends RequestHeaderNames {
  /** Common names a front proxy's certificate may have; empty: any certificate the CA signed. */
  allowedNames: string[];
}

/**
 * Front-proxy authentication, as kube-apiserver's requestheader authenticator: a request whose
 * TLS client certificate verified against the requestheader client CA (the server asks for
 * certificates with that CA and does not reject others: see KubeApiTls) and whose common name
 * is allowed is from the aggregator, so the user it names in the headers is believed.
 *
 * Returns undefined (not trusted: the caller tries other credentials) when there is no such
 * certificate or it names no user. The headers of any other client are never read.
 */
export function frontProxyUser(req: http.IncomingMessage, o: FrontProxyOptions): UserInfo | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || !socket.getPeerCertificate) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  if (o.allowedNames.length > 0 && (typeof cn !== 'string' || !o.allowedNames.includes(cn))) return undefined;

  const headers = req.headersDistinct;
  const values = (name: string) => headers[name.toLowerCase()] ?? [];
  const username = o.usernameHeaders.map((h) => values(h)[0]?.trim()).find((v) => v);
  if (!username) return undefined;
  const groups = o.groupHeaders.flatMap(values).filter(Boolean);
  const extra: Record<string, string[]> = {};
  for (const [name, vs] of Object.entries(headers)) {
    const prefix = o.extraHeaderPrefixes.find((p) => name.startsWith(p.toLowerCase()));
    if (!prefix || !vs) continue;
    // Keys are lower-cased and percent-decoded, as the apiserver does (they can hold "/" and ".").
    const key = safeDecode(name.slice(prefix.length)).toLowerCase();
    (extra[key] ??= []).push(...vs);
  }
  return { username, groups, ...(Object.keys(extra).length > 0 ? { extra } : {}) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The authenticators in order: the first that knows the caller wins (as Kubernetes' union
 * authenticator); undefined from all of them is a 401.
 */
export function firstOf(
  what: string,
  ...authenticators: ((req: http.IncomingMessage) => UserInfo | undefined)[]
): (req: http.IncomingMessage) => Promise<UserInfo> {
  return async (req) => {
    for (const a of authenticators) {
      const user = a(req);
      if (user) return user;
    }
    throw new UnauthenticatedError(`no valid ${what}`);
  };
}
