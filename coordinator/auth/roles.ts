import type { RequestAttributes, UserInfo } from './types.js';

/** The groups the role authorizer knows; a user in none of them may only read discovery. */
export const ROLE_GROUPS = {
  viewers: 'slipway:viewers',
  builders: 'slipway:builders',
  admins: 'slipway:admins',
} as const;

/**
 * Tenants: a user in any group `slipway:ns:<namespace>` may act only in those namespaces (and
 * not across all of them at once); a user in none is not limited to namespaces.
 */
export const NAMESPACE_GROUP_PREFIX = 'slipway:ns:';

const READ_VERBS = new Set(['get', 'list', 'watch']);

/**
 * What each role may do, for use outside a cluster (inside one, the cluster's RBAC decides
 * through SubjectAccessReview). Roles add up: builders can do what viewers can, admins anything.
 *
 * | group              | may                                                                 |
 * |--------------------|---------------------------------------------------------------------|
 * | (any user)         | non-resource reads: discovery, OpenAPI, /version, health            |
 * | `slipway:viewers`  | get, list, watch buildconfigs and builds; get builds/log            |
 * | `slipway:builders` | + create buildconfigs/instantiate (start a build); delete builds (cancels one that runs) |
 * | `slipway:admins`   | everything: also create, update, patch, delete buildconfigs; secrets |
 *
 * A user in `slipway:ns:<namespace>` groups is limited to those namespaces, whatever the role
 * (a tenant's admin administers only the tenant): see `namespaceAllowed`.
 */
export function roleAllows(user: UserInfo, a: RequestAttributes): boolean {
  const groups = new Set(user.groups);
  if (!a.resourceRequest) return groups.has(ROLE_GROUPS.admins) || a.verb === 'get' || a.verb === 'head';
  if (!namespaceAllowed(user, a.namespace)) return false;
  if (groups.has(ROLE_GROUPS.admins)) return true;
  const builder = groups.has(ROLE_GROUPS.builders);
  const viewer = builder || groups.has(ROLE_GROUPS.viewers);
  const what = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (viewer && READ_VERBS.has(a.verb) && (what === 'buildconfigs' || what === 'builds' || what === 'builds/log'))
    return true;
  if (builder && a.verb === 'create' && what === 'buildconfigs/instantiate') return true;
  if (builder && a.verb === 'delete' && what === 'builds') return true;
  return false;
}

/** `roleAllows` as an Authorizer. */
export const roleAuthorizer = async (user: UserInfo, a: RequestAttributes): Promise<boolean> => roleAllows(user, a);

/**
 * Whether `user` may act in `namespace` (undefined: across all namespaces). Users without a
 * `slipway:ns:` group are not limited; users with some may act only in those, never across all.
 */
export function namespaceAllowed(user: UserInfo, namespace: string | undefined): boolean {
  const tenants = user.groups
    .filter((g) => g.startsWith(NAMESPACE_GROUP_PREFIX))
    .map((g) => g.slice(NAMESPACE_GROUP_PREFIX.length));
  if (tenants.length === 0) return true;
  return namespace !== undefined && namespace !== '' && tenants.includes(namespace);
}
