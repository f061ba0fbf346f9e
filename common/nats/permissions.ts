import { AGENT_INBOX_PREFIX } from './connect.js';
import { LOGS_SUBJECT_PREFIX } from './logs.js';
import { CONTEXTS_BUCKET, JOBS_STREAM, JOBS_SUBJECT_PREFIX } from './names.js';

/** What a NATS user may publish and subscribe to (nats-server's `permissions` block). */
export interface SubjectPermissions {
  publish: string[];
  subscribe: string[];
}

/**
 * The coordinators' user: they own every Slipway stream, bucket and consumer, so they get the
 * JetStream API, the KV and object-store subjects, the job subjects and their replies.
 */
export function coordinatorPermissions(): SubjectPermissions {
  return {
    publish: ['$JS.API.>', '$KV.>', '$O.>', `${JOBS_SUBJECT_PREFIX}.>`, '$JS.ACK.>', '$JS.FC.>', '_INBOX.>'],
    subscribe: ['_INBOX.>'],
  };
}

/**
 * The agents' user: pull jobs from the jobs stream's durable consumers (each agent from its own,
 * which a coordinator makes; NATS cannot tell agents apart under one user, but a job taken from
 * another agent's queue is refused at its claim) and ack them, publish build logs,
 * and read uploaded contexts (an agent is handed any tenant's build, so any upload). Nothing
 * else: no KV subject at all (no build state, no secrets: an agent gets a secret only in the
 * answer to its claim of a build that names it, from the coordinator over mutual TLS), no
 * JetStream API beyond those reads, no job publishing, and replies only under its own inbox
 * prefix (`_INBOX_slipway_agent`), so it cannot listen to the coordinators' replies either.
 */
export function agentPermissions(): SubjectPermissions {
  const contexts = `OBJ_${CONTEXTS_BUCKET}`;
  return {
    publish: [
      `$JS.API.CONSUMER.INFO.${JOBS_STREAM}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${JOBS_STREAM}.*`,
      `$JS.ACK.${JOBS_STREAM}.>`,
      `${LOGS_SUBJECT_PREFIX}.>`,
      // Reading an uploaded context: the object's info, then its chunks through an ordered consumer.
      // The object store client asks for the account's JetStream info first (usage figures only).
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${contexts}`,
      `$JS.API.STREAM.MSG.GET.${contexts}`,
      `$JS.API.DIRECT.GET.${contexts}.>`,
      `$JS.API.CONSUMER.CREATE.${contexts}`,
      `$JS.API.CONSUMER.CREATE.${contexts}.>`,
      `$JS.API.CONSUMER.MSG.NEXT.${contexts}.>`,
      `$JS.API.CONSUMER.DELETE.${contexts}.>`,
      `$JS.FC.${contexts}.>`,
    ],
    subscribe: [`${AGENT_INBOX_PREFIX}.>`],
  };
}

export interface NatsUser {
  user: string;
  /** As nats-server takes it: plain, or (better) a bcrypt hash (`nats server passwd`). */
  password: string;
}

/**
 * An `authorization` block for nats-server's configuration with the coordinators' and the
 * agents' users and their permissions. With nkeys or JWTs (`SLIPWAY_NATS_CREDS`) the same
 * permissions go on the users in the operator's account instead.
 */
export function natsAuthorizationConfig(o: { coordinator: NatsUser; agent: NatsUser }): string {
  const user = (u: NatsUser, p: SubjectPermissions) =>
    `    { user: ${JSON.stringify(u.user)}, password: ${JSON.stringify(u.password)}, permissions: { publish: { allow: ${JSON.stringify(p.publish)} }, subscribe: { allow: ${JSON.stringify(p.subscribe)} } } }`;
  return `authorization {\n  users: [\n${user(o.coordinator, coordinatorPermissions())}\n${user(o.agent, agentPermissions())}\n  ]\n}\n`;
}
