import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '../../common/nats/connect.js';
import { CONTEXTS_BUCKET } from '../../common/nats/names.js';
import { InvalidContextError } from '../build-failures.js';

/** Reads an uploaded context by its object name. @throws InvalidContextError when it is no longer stored. */
export interface UploadedContexts {
  read(object: string): Promise<AsyncIterable<Uint8Array>>;
}

/** Uploaded contexts in the coordinator's object store; bound on first use. */
export function objectStoreUploads(nc: NatsConnection): UploadedContexts {
  let store: Promise<ObjectStore> | undefined;
  return {
    async read(object) {
      store ??= new Objm(nc).open(CONTEXTS_BUCKET);
      const result = await (await store).get(object);
      if (!result) throw new InvalidContextError(`the uploaded context "${object}" is no longer stored`);
      return result.data as unknown as AsyncIterable<Uint8Array>;
    },
  };
}
