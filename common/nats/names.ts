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
/**
 * KV bucket holding which placement holds each of an agent's build slots, keyed
 * `<agent>/<slot>` (agentSlotKey): a placement takes a slot by compare-and-set before it is
 * written, so coordinators placing at once never give an agent more builds than its capacity.
 */
export const SLOTS_BUCKET = 'slipway_slots';
/** Object store holding uploaded build contexts, named `<namespace>/<config>/<uuid>`. */
export const CONTEXTS_BUCKET = 'slipway_contexts';
/** Work-queue stream of build jobs. A message is consumed (and removed) by exactly one agent. */
export const JOBS_STREAM = 'SLIPWAY_JOBS';
/**
 * Subject prefix of the jobs stream. A job is published for the agent it is placed on, on
 * `<prefix>.<agent>.<namespace>.<build>` (see agentJobSubject).
 */
export const JOBS_SUBJECT_PREFIX = 'slipway.jobs';
/**
 * The durable pull consumer every agent pulled jobs from before placement (#12). A coordinator
 * deletes it: a work-queue stream's consumers may not overlap, and each agent now has its own.
 */
export const LEGACY_JOBS_CONSUMER = 'slipway-agents';

/** The KV key of a namespaced object. Namespaces and names are DNS labels, so '.' separates. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

/**
 * The key of an agent's build slot `slot` (0 to its capacity - 1) in SLOTS_BUCKET: the name as it
 * is, then '/', which no agent name has (agentNameProblem). Not agentToken's '~', which a KV key
 * may not hold (keys are letters, digits and `-/_=.`): every placement on an agent with a dot in
 * its name would fail.
 */
export function agentSlotKey(agent: string, slot: number): string {
  return `${agent}/${slot}`;
}

/** The agent whose slot `key` is (agentSlotKey read back); undefined for a key no slot has. */
export function agentOfSlotKey(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  return slash > 0 && /^\d+$/.test(key.slice(slash + 1)) ? key.slice(0, slash) : undefined;
}

/**
 * An agent's name as one subject token and in its consumer's name, neither of which may hold a
 * '.': dots become '~', which no agent name has (agentNameProblem). Not '_': names may hold '_',
 * and agents "node.a" and "node_a" would then share one queue and take each other's jobs.
 */
function agentToken(agent: string): string {
  return agent.replace(/\./g, '~');
}

/** Where the jobs placed on `agent` are published: its consumer takes exactly these. */
export function agentJobSubject(agent: string, namespace?: string, build?: string): string {
  const prefix = `${JOBS_SUBJECT_PREFIX}.${agentToken(agent)}`;
  return namespace === undefined ? `${prefix}.>` : `${prefix}.${namespace}.${build}`;
}

/** The durable pull consumer of one agent's jobs. */
export function agentConsumerName(agent: string): string {
  return `agent-${agentToken(agent)}`;
}

/** The agent whose job consumer `name` is (agentConsumerName read back); undefined for another consumer. */
export function agentOfConsumerName(name: string): string | undefined {
  return name.startsWith('agent-') && name.length > 'agent-'.length
    ? name.slice('agent-'.length).replace(/~/g, '.')
    : undefined;
}

/**
 * The work queue's de-duplication id of one placement of an attempt: publishing it twice (a
 * coordinator that crashed after publishing, two coordinators racing) queues it once. The
 * attempt's next placement (its first was lost, or its agent went away) has an id of its own,
 * and the claim's fences (attempt, placed agent) let only one copy run.
 */
export function jobMessageId(namespace: string, build: string, attempt: number, placement = 1): string {
  return placement <= 1 ? `${namespace}/${build}/${attempt}` : `${namespace}/${build}/${attempt}/${placement}`;
}

/** What a job message carries: names, not objects. The agent gets the spec when it claims. */
export interface BuildJob {
  namespace: string;
  build: string;
  attempt: number;
  /** Which placement of the attempt this is (1, 2 ...): a job of an older one is stale. */
  placement: number;
}
