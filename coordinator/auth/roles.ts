import type { RequestAttributes, UserInfo } from './types.js';

/** The groups the role authorizer knows; a user in none of them may only read discovery. */
export const ROLE_GROUPS = {
  viewers: 'slipway:viewers',
  builders: 'slipway:builders',
  admins: 'slipway:admins',
} as const;

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
 * | `slipway:admins`   | everything: also create, update, patch, delete buildconfigs         |
 */
export function roleAllows(user: UserInfo, a: RequestAttributes): boolean {
  const groups = new Set(user.groups);
  if (groups.has(ROLE_GROUPS.admins)) return true;
  if (!a.resourceRequest) return a.verb === 'get' || a.verb === 'head';
  const builder = groups.has(ROLE_GROUPS.builders);
  const viewer = builder || groups.has(ROLE_GROUPS.viewers);
  const what = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (viewer && READ_VERBS.has(a.verb) && (what === 'buildconfigs' || what === 'builds' || what === 'builds/log')) return true;
  if (builder && a.verb === 'create' && what === 'buildconfigs/instantiate') return true;
  if (builder && a.verb === 'delete' && what === 'builds') return true;
  return false;
}

/** `roleAllows` as an Authorizer. */
export const roleAuthorizer = async (user: UserInfo, a: RequestAttributes): Promise<boolean> => roleAllows(user, a);
