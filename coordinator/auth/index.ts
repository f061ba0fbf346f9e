/** Who may call Slipway's APIs: shared by the Kubernetes API and (issue #9) the gRPC API. */
export type { Authenticator, Authorizer, RequestAttributes, UserInfo } from './types.js';
export { PermissionDeniedError, UnauthenticatedError } from './errors.js';
export { AUTHENTICATED_GROUP, TokenAuthenticator, bearerToken } from './token-file.js';
export { NAMESPACE_GROUP_PREFIX, ROLE_GROUPS, namespaceAllowed, roleAllows, roleAuthorizer } from './roles.js';
export {
  defaultRequestHeaderNames,
  firstOf,
  frontProxyUser,
  type FrontProxyOptions,
  type RequestHeaderNames,
} from './front-proxy.js';
// SubjectAccessReview (./subject-access-review.js) is imported where it is used, and only then:
// it loads @kubernetes/client-node, 70 MiB of a coordinator's memory that only `delegated` needs.
