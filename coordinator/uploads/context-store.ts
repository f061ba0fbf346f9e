import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Objm, StorageType, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { InvalidInputError } from '../../common/errors.js';
import { CONTEXTS_BUCKET } from '../../common/nats/names.js';
import { ensureReplicas } from '../../common/nats/streams.js';
import { jetstreamManager } from '@nats-io/jetstream';
import type { BinarySource } from '../../api/types.js';

export interface ContextStoreOptions {
  replicas: number;
  /** Largest upload accepted, in bytes (compressed, as sent). */
  maxBytes: number;
}

/**
 * Uploaded build contexts, in a NATS object store. An upload is stored whole or not at all:
 * one over the size limit is cut off and removed, and the caller starts no build.
 */
export class ContextStore {
  private constructor(
    private readonly store: ObjectStore,
    readonly maxBytes: number,
  ) {}

  static async open(nc: NatsConnection, o: ContextStoreOptions): Promise<ContextStore> {
    const store = await new Objm(nc).create(CONTEXTS_BUCKET, { storage: StorageType.File, replicas: o.replicas });
    await ensureReplicas(await jetstreamManager(nc), `OBJ_${CONTEXTS_BUCKET}`, o.replicas);
    return new ContextStore(store, o.maxBytes);
  }

  /** @throws InvalidInputError (field `context`) when the upload is empty or too large. */
  async put(chunks: AsyncIterable<Uint8Array>, label: string): Promise<Required<BinarySource>> {
    const object = `${label}/${randomUUID()}`;
    const hash = createHash('sha256');
    let size = 0;
    let tooLarge = false;
    const limit = this.maxBytes;
    const source = (async function* () {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > limit) {
          tooLarge = true;
          return;
        }
        hash.update(chunk);
        yield chunk;
      }
    })();
    await this.store.put(
      { name: object },
      Readable.toWeb(Readable.from(source)) as unknown as ReadableStream<Uint8Array>,
    );
    if (tooLarge || size === 0) {
      await this.delete(object);
      throw new InvalidInputError(
        [{ field: 'context', message: tooLarge ? `is larger than the limit of ${limit} bytes` : 'is empty' }],
        'upload',
      );
    }
    return { object, sha256: hash.digest('hex'), size };
  }

  /** Removes an uploaded context; one already gone counts as removed. */
  async delete(object: string): Promise<void> {
    await this.store.delete(object).catch((err: unknown) => {
      if (!/not found|no message found/i.test(String((err as Error)?.message))) throw err;
    });
  }

  /** Whether the object is still stored (for tests and diagnostics). */
  async has(object: string): Promise<boolean> {
    const info = await this.store.info(object);
    return info !== null && !info.deleted;
  }
}
