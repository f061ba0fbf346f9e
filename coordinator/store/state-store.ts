import { Kvm } from '@nats-io/kv';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { ensureReplicas } from '../../common/nats/streams.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { AGENTS_BUCKET, BUILDCONFIGS_BUCKET, BUILDS_BUCKET, SECRETS_BUCKET } from '../../common/nats/names.js';
import type { AgentRecord } from '../agents/agent-registry.js';
import type { Build, BuildConfig } from '../../api/types.js';
import type { StoredSecret } from '../secrets/secret-store.js';
import { bucketStream, JsonStore } from './json-store.js';

export interface StateStoreOptions {
  /** Replicas of each bucket: 1 on a single server, 3 on a cluster. */
  replicas: number;
  /** Revisions kept per key (for watch resumption and audit). */
  history: number;
}

export function defaultStateStoreOptions(): StateStoreOptions {
  return { replicas: 1, history: 5 };
}

/** All state: BuildConfigs, Builds, agents' heartbeats and sealed secrets, created on first use. */
export interface StateStore {
  buildConfigs: JsonStore<BuildConfig>;
  builds: JsonStore<Build>;
  agents: JsonStore<AgentRecord>;
  secrets: JsonStore<StoredSecret>;
}

export async function openStateStore(nc: NatsConnection, options: StateStoreOptions): Promise<StateStore> {
  const kvm = new Kvm(nc);
  const open = (bucket: string) =>
    kvm.create(bucket, { storage: StorageType.File, replicas: options.replicas, history: options.history });
  const [configs, builds, agents, secrets] = await Promise.all([
    open(BUILDCONFIGS_BUCKET),
    open(BUILDS_BUCKET),
    open(AGENTS_BUCKET),
    open(SECRETS_BUCKET),
  ]);
  const jsm = await jetstreamManager(nc);
  for (const bucket of [BUILDCONFIGS_BUCKET, BUILDS_BUCKET, AGENTS_BUCKET, SECRETS_BUCKET])
    await ensureReplicas(jsm, `KV_${bucket}`, options.replicas);
  // What the server takes in one message, less room for headers.
  const max = nc.info?.max_payload ? nc.info.max_payload - 8 * 1024 : undefined;
  return {
    buildConfigs: new JsonStore<BuildConfig>(configs, 'BuildConfig', bucketStream(nc, BUILDCONFIGS_BUCKET), max),
    builds: new JsonStore<Build>(builds, 'Build', bucketStream(nc, BUILDS_BUCKET), max),
    agents: new JsonStore<AgentRecord>(agents, 'Agent', bucketStream(nc, AGENTS_BUCKET), max),
    secrets: new JsonStore<StoredSecret>(secrets, 'Secret', bucketStream(nc, SECRETS_BUCKET), max),
  };
}
