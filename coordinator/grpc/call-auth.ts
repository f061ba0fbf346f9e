import type * as grpc from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from '../../common/errors.js';
import {
  bearerToken,
  roleAllows,
  type RequestAttributes,
  type TokenAuthenticator,
  type UserInfo,
} from '../auth/index.js';
import type { BuildServiceHandlers } from '../../proto/generated/slipway/v1/BuildService.js';

export type BuildServiceMethod = keyof BuildServiceHandlers;

/**
 * Each BuildService method as the Kubernetes API's verb and resource, so one role table
 * (auth/roles.ts) decides for both APIs: viewers read, builders start and cancel (cancel is
 * `delete builds`, as in the Kubernetes API), admins change configs and secrets.
 */
export const METHOD_ATTRIBUTES: Record<
  BuildServiceMethod,
  Pick<RequestAttributes, 'verb' | 'resource' | 'subresource'>
> = {
  GetBuildConfig: { verb: 'get', resource: 'buildconfigs' },
  ListBuildConfigs: { verb: 'list', resource: 'buildconfigs' },
  GetBuild: { verb: 'get', resource: 'builds' },
  ListBuilds: { verb: 'list', resource: 'builds' },
  WatchBuild: { verb: 'watch', resource: 'builds' },
  StreamBuildLogs: { verb: 'get', resource: 'builds', subresource: 'log' },
  StartBuild: { verb: 'create', resource: 'buildconfigs', subresource: 'instantiate' },
  StartBuildWithContext: { verb: 'create', resource: 'buildconfigs', subresource: 'instantiate' },
  CancelBuild: { verb: 'delete', resource: 'builds' },
  CreateBuildConfig: { verb: 'create', resource: 'buildconfigs' },
  UpdateBuildConfig: { verb: 'update', resource: 'buildconfigs' },
  DeleteBuildConfig: { verb: 'delete', resource: 'buildconfigs' },
  CreateSecret: { verb: 'create', resource: 'secrets' },
  DeleteSecret: { verb: 'delete', resource: 'secrets' },
};

/** Everyone, when no token file is configured (local use only). */
const LOCAL_USER: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

/**
 * Who may call BuildService. With a token file, every call needs `authorization: Bearer TOKEN`
 * metadata naming a token of the file, and the token's groups must give the method's role in the
 * request's namespace. Without one (local mode) everyone may do everything.
 *
 * Checks run before a handler reads or changes anything, so a refused call changes nothing.
 * Tokens are never logged nor part of an answer.
 */
export class CallAuthorizer {
  constructor(private readonly tokens: TokenAuthenticator | undefined) {}

  /** Whether calls are checked at all (a token file was given). */
  get enabled(): boolean {
    return this.tokens !== undefined;
  }

  /** @throws UnauthenticatedError without a known token. */
  authenticate(metadata: grpc.Metadata): UserInfo {
    if (!this.tokens) return LOCAL_USER;
    const header = metadata.get('authorization')[0];
    const token = bearerToken(typeof header === 'string' ? header : header?.toString());
    if (!token) throw new UnauthenticatedError('a bearer token is required (authorization metadata)');
    return this.tokens.authenticate(token);
  }

  /** @throws PermissionDeniedError when the user's roles or namespaces do not allow the call. */
  authorize(user: UserInfo, method: BuildServiceMethod, namespace: string): void {
    if (!this.tokens) return;
    const a: RequestAttributes = {
      ...METHOD_ATTRIBUTES[method],
      resourceRequest: true,
      path: `/slipway.v1.BuildService/${method}`,
      namespace,
    };
    if (!roleAllows(user, a)) {
      const what = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
      throw new PermissionDeniedError(
        `user "${user.username}" may not ${a.verb} ${what} in namespace "${namespace}" (${method})`,
      );
    }
  }

  /**
   * For calls that describe the API rather than act on resources (server reflection): any
   * known token, as the Kubernetes API lets any authenticated user read discovery and OpenAPI
   * (auth/roles.ts, non-resource `get`).
   * @throws UnauthenticatedError without a known token; PermissionDeniedError when the role table refuses.
   */
  checkDiscovery(call: { metadata: grpc.Metadata }, path: string): UserInfo {
    const user = this.authenticate(call.metadata);
    if (this.tokens && !roleAllows(user, { verb: 'get', resourceRequest: false, path }))
      throw new PermissionDeniedError(`user "${user.username}" may not read ${path}`);
    return user;
  }

  /** Both, for calls whose namespace is known from the start. */
  check(call: { metadata: grpc.Metadata }, method: BuildServiceMethod, namespace: string): UserInfo {
    const user = this.authenticate(call.metadata);
    this.authorize(user, method, namespace);
    return user;
  }
}
