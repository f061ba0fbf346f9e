import type { IncomingMessage } from 'node:http';
import { PermissionDeniedError, UnauthenticatedError } from '../../common/errors.js';
import {
  bearerToken,
  roleAllows,
  type RequestAttributes,
  type TokenAuthenticator,
  type UserInfo,
} from '../auth/index.js';

/** What a dashboard API call reads, in the role table's terms (auth/roles.ts). */
export interface ReadAccess {
  verb: 'get' | 'list' | 'watch';
  resource: 'builds';
  subresource?: 'log';
  /** undefined: across all namespaces (only users not limited to namespaces may). */
  namespace: string | undefined;
}

/**
 * Who may read through the dashboard's API: the gRPC API's tokens and roles
 * (SLIPWAY_API_TOKENS_FILE, `roleAllows`), so a token reads here exactly what it may read with
 * `slipway` or kubectl. Without a token file everyone may (local mode, as gRPC).
 *
 * The token comes only from the `Authorization: Bearer` header, never a cookie or the URL: no
 * other site can make a browser send it, and it stays out of access logs and history.
 */
export class DashboardAuth {
  constructor(private readonly tokens: TokenAuthenticator | undefined) {}

  /** Whether calls need a token (a token file was given). */
  get enabled(): boolean {
    return this.tokens !== undefined;
  }

  /**
   * Checks the request before anything is read.
   * @throws UnauthenticatedError without a known token; PermissionDeniedError when its roles or
   * namespaces do not allow the read.
   */
  check(req: IncomingMessage, access: ReadAccess): UserInfo | undefined {
    if (!this.tokens) return undefined;
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new UnauthenticatedError('a bearer token is required (Authorization: Bearer …)');
    const user = this.tokens.authenticate(token);
    const a: RequestAttributes = { ...access, resourceRequest: true, path: (req.url ?? '/').split('?')[0]! };
    if (!roleAllows(user, a)) {
      const what = access.subresource ? `${access.resource}/${access.subresource}` : access.resource;
      const where = access.namespace === undefined ? 'across all namespaces' : `in namespace "${access.namespace}"`;
      throw new PermissionDeniedError(`user "${user.username}" may not ${access.verb} ${what} ${where}`);
    }
    return user;
  }
}
