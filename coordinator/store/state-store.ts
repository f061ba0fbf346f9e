import { Kvm } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUILDCONFIGS_BUCKET, BUILDS_BUCKET } from '../../common/nats/names.js';
import type { Build, BuildConfig } from '../api/types.js';
import { JsonStore } from './json-store.js';

export interface StateStoreOptions {
  /** Replicas of each bucket: 1 on a single server, 3 on a cluster. */
  replicas: number;
  /** Revisions kept per key (for watch resumption and audit). */
  history: number;
}

export function defaultStateStoreOptions(): StateStoreOptions {
  return { replicas: 1, history: 5 };
}

/** All Build state: the BuildConfig and Build buckets, created on first use. */
export interface StateStore {
  buildConfigs: JsonStore<BuildConfig>;
  builds: JsonStore<Build>;
}

export async function openStateStore(nc: NatsConnection, options: StateStoreOptions): Promise<StateStore> {
  const kvm = new Kvm(nc);
  const open = (bucket: string) =>
    kvm.create(bucket, { storage: StorageType.File, replicas: options.replicas, history: options.history });
  const [configs, builds] = await Promise.all([open(BUILDCONFIGS_BUCKET), open(BUILDS_BUCKET)]);
  return {
    buildConfigs: new JsonStore<BuildConfig>(configs, 'BuildConfig'),
    builds: new JsonStore<Build>(builds, 'Build'),
  };
}
