/**
 * Names of Slipway's JetStream assets, in one place: the chart's NATS permissions and the
 * coordinator and agent all use these.
 */

/** KV bucket holding BuildConfigs, keyed `<namespace>.<name>`. */
export const BUILDCONFIGS_BUCKET = 'slipway_buildconfigs';
/** KV bucket holding Builds, keyed `<namespace>.<name>`. */
export const BUILDS_BUCKET = 'slipway_builds';
/** KV bucket holding agents' latest heartbeats, keyed by agent name. */
export const AGENTS_BUCKET = 'slipway_agents';
/** KV bucket holding sealed registry secrets, keyed `<namespace>.<name>`. */
export const SECRETS_BUCKET = 'slipway_secrets';
/** Object store holding uploaded build contexts, named `<namespace>/<config>/<uuid>`. */
export const CONTEXTS_BUCKET = 'slipway_contexts';
/** Work-queue stream of build jobs. A message is consumed (and removed) by exactly one agent. */
export const JOBS_STREAM = 'SLIPWAY_JOBS';
/** Subject prefix of the jobs stream; a job is published on `<prefix>.<namespace>.<build>`. */
export const JOBS_SUBJECT_PREFIX = 'slipway.jobs';
/** The durable pull consumer every agent pulls jobs from. */
export const JOBS_CONSUMER = 'slipway-agents';

/** The KV key of a namespaced object. Namespaces and names are DNS labels, so '.' separates. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

export function jobSubject(namespace: string, build: string): string {
  return `${JOBS_SUBJECT_PREFIX}.${namespace}.${build}`;
}

/**
 * The work queue's de-duplication id of one attempt of a build: publishing the same attempt twice
 * (a coordinator that crashed after publishing, two coordinators racing) queues it once. The
 * `requeue`th copy of an attempt whose job was lost (see BuildController) has its own id, equally
 * de-duplicated; the claim's attempt fence lets only one copy run.
 */
export function jobMessageId(namespace: string, build: string, attempt: number, requeue = 0): string {
  // A requeued copy needs an id of its own: the stream would drop the first one's as a duplicate.
  return requeue === 0 ? `${namespace}/${build}/${attempt}` : `${namespace}/${build}/${attempt}/requeue-${requeue}`;
}

/** What a job message carries: names, not objects. The agent gets the spec when it claims. */
export interface BuildJob {
  namespace: string;
  build: string;
  attempt: number;
  /**
   * The build's nodeSelector, so an agent on another node hands the job back without claiming
   * it. Absent in jobs queued before it existed: the claim is then the only check.
   */
  nodeSelector?: Record<string, string>;
}
