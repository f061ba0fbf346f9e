import type { Teardowns } from './teardowns.js';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { LOGS_STREAM } from '../../common/nats/logs.js';
import { BUILDCONFIGS_BUCKET, BUILDS_BUCKET, SECRETS_BUCKET } from '../../common/nats/names.js';

/**
 * What NATS actually stores, as text: every raw message of the log stream, and every value in
 * the BuildConfig, Build and Secret buckets, for checking that no secret is kept in the clear.
 */
export async function storedText(
  t: Teardowns,
  natsUrl: string,
): Promise<{ logs: string[]; values: { where: string; text: string }[] }> {
  const nc = await connect({ servers: natsUrl });
  t.teardown(() => nc.close());
  const logs: string[] = [];
  const consumer = await jetstream(nc).consumers.get(LOGS_STREAM);
  for (
    let m = await consumer.next({ expires: 1000 });
    m;
    m = m.info.pending > 0 ? await consumer.next({ expires: 1000 }) : null
  )
    logs.push(m.string());
  const values: { where: string; text: string }[] = [];
  const kvm = new Kvm(nc);
  for (const bucket of [BUILDCONFIGS_BUCKET, BUILDS_BUCKET, SECRETS_BUCKET]) {
    const kv = await kvm.open(bucket);
    for await (const k of await kv.keys()) values.push({ where: `${bucket} ${k}`, text: (await kv.get(k))!.string() });
  }
  return { logs, values };
}
