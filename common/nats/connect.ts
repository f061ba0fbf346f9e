import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface NatsOptions {
  /** One or more server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Shown in the server's connection list. */
  name: string;
}

/**
 * Connects with settings meant for long-lived services: reconnect forever, so a NATS restart is
 * ridden through rather than fatal. Without async stack traces: nats.js otherwise makes an Error
 * (and its stack) before every request and timer just in case one fails, which was the
 * coordinator's top CPU cost at scale (bench/README.md); a failure still has its type and
 * message.
 */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  return connect({
    servers: options.servers,
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    noAsyncTraces: true,
  });
}

export type { NatsConnection };
