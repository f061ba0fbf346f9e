/**
 * Who is calling and what they ask to do, in Kubernetes' terms (user.Info and the authorizer's
 * attributes, which a SubjectAccessReview carries). The Kubernetes API uses them as they are;
 * the gRPC API (issue #9) maps each method onto a verb and a resource.
 */

/** Who made a request, as an authenticator found out (Kubernetes' user.Info). */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** What a request wants to do, as Kubernetes' authorizer attributes (and SubjectAccessReview) name it. */
export interface RequestAttributes {
  /** get, list, watch, create, update, patch, delete for resources; the lower-case HTTP method otherwise. */
  verb: string;
  resourceRequest: boolean;
  /** The URL path (for non-resource requests such as /apis or /openapi/v3). */
  path: string;
  apiGroup?: string;
  apiVersion?: string;
  namespace?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

/** Finds out who sent a request; rejects with UnauthenticatedError when nobody it trusts did. */
export type Authenticator<Req> = (req: Req) => Promise<UserInfo>;

/** Whether `user` may do what `attributes` say. Rejects only when it cannot decide (an error, not a denial). */
export type Authorizer = (user: UserInfo, attributes: RequestAttributes) => Promise<boolean>;
