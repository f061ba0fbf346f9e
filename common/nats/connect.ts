import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { FieldError } from '../errors.js';
import { setTogether } from '../settings/checks.js';
import { coalesceWrites } from './coalesced-writes.js';

/**
 * How a process proves who it is to NATS: a user and password, or a creds file (a user JWT and
 * its nkey seed, as `nsc` writes them). Neither: no authentication (local use only).
 */
export interface NatsCredentials {
  user?: string;
  password?: string;
  /** Path of a `.creds` file; read at every (re)connect, so a rotated file is picked up. */
  credsFile?: string;
}

/** The reply-subject prefix of agents, which the server lets them subscribe to (and nothing else under `_INBOX`). */
export const AGENT_INBOX_PREFIX = '_INBOX_slipway_agent';

export interface NatsOptions extends NatsCredentials {
  /** One or more server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Shown in the server's connection list. */
  name: string;
  /**
   * Prefix of the connection's reply subjects; default `_INBOX`. Agents use their own so that
   * their NATS user need not (and may not) subscribe to the coordinators' replies.
   */
  inboxPrefix?: string;
}

/**
 * Connects with settings meant for long-lived services: reconnect forever, so a NATS restart is
 * ridden through rather than fatal. Without async stack traces: nats.js otherwise makes an Error
 * (and its stack) before every request and timer just in case one fails, which was the
 * coordinator's top CPU cost at scale (bench/README.md); a failure still has its type and
 * message. The writes of one event-loop turn go out as one (`coalesceWrites`).
 */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const { credsFile } = options;
  const nc = await connect({
    servers: options.servers,
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    noAsyncTraces: true,
    ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    ...(options.user ? { user: options.user, pass: options.password ?? '' } : {}),
    ...(credsFile ? { authenticator: credsAuthenticator(() => readFileSync(credsFile)) } : {}),
  });
  coalesceWrites(nc);
  return nc;
}

/** User and password go together; a creds file goes alone. For the coordinator's and the agent's settings. */
export function natsCredentialErrors(
  c: { natsUser: string; natsPassword: string; natsCredsFile: string },
  e: { natsUser: string; natsPassword: string; natsCredsFile: string },
): FieldError[] {
  const errors: FieldError[] = [];
  errors.push(...setTogether([e.natsUser, c.natsUser], [e.natsPassword, c.natsPassword]));
  if (c.natsCredsFile && c.natsUser)
    errors.push({ field: e.natsCredsFile, message: `is an alternative to ${e.natsUser}/${e.natsPassword}; set one` });
  return errors;
}

export type { NatsConnection };
