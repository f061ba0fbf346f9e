import type { Consumer } from '@nats-io/jetstream';

/**
 * Deletes an ordered consumer that is no longer read, without waiting. nats.js leaves an
 * ordered consumer on the server when its reader stops (it expires after 5 minutes idle), so
 * every watch, log follow and dashboard stream that ended would hold one that long; clients
 * that reconnect often (a browser following a log) would pile them up. Best effort: when NATS
 * is gone the server's inactivity threshold still removes it.
 */
export function releaseConsumer(consumer: Consumer): void {
  try {
    // delete() reads the consumer's info synchronously: it throws when the consumer was never made.
    void consumer.delete().catch(() => {});
  } catch {
    // Never created on the server: nothing to delete.
  }
}
