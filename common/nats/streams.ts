import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';

/** True for JetStream's "no such stream" and "no such consumer" answers. */
export function isNotFound(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound)
  );
}

/**
 * Creates the stream, or brings an existing one's settings (limits, replicas) to `config`.
 * Safe for several coordinators to run at once.
 */
export async function upsertStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(config);
  }
}

/** Milliseconds as the nanoseconds JetStream's durations are in. */
export function nanos(ms: number): number {
  return ms * 1_000_000;
}

/**
 * Brings an existing stream's replica count to `replicas` (nats.js's KV and object-store
 * `create` leave an existing bucket's settings as they were): a bucket first made on one server
 * keeps R1 on a cluster otherwise. The server scales a stream up or down in place.
 */
export async function ensureReplicas(jsm: JetStreamManager, stream: string, replicas: number): Promise<void> {
  const info = await jsm.streams.info(stream);
  if (info.config.num_replicas === replicas) return;
  await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
}
