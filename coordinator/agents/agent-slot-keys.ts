import { JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ConflictError } from '../../common/errors.js';
import { agentOfSlotKey, SLOTS_BUCKET } from '../../common/nats/names.js';
import type { SlotHolder } from '../placement/agent-slots.js';
import { bucketStream, JsonStore } from '../store/json-store.js';

/** A slot key's last message in the slots bucket, as retention reads it. */
export interface SlotKeyState {
  key: string;
  agent: string;
  /** The key's revision: the sequence of its last message. */
  revision: number;
  /** When that message was stored (ms since the epoch, by the server's clock). */
  at: number;
  /** Whether it holds a placement; false: only a deletion's marker is left of the key. */
  held: boolean;
}

/** The keys of the slots bucket (`<agent>/<slot>`, agent-slots.ts), as agent retention removes them. */
export interface AgentSlotKeys {
  /** Every slot key stored, with a value or only a deletion's marker (one request). */
  keys(): Promise<string[]>;
  /** The key's last message, as the stream leader holds it; undefined when nothing of it is stored. */
  read(key: string): Promise<SlotKeyState | undefined>;
  /**
   * Removes the key if its last message is still the one read: deletes its value at that
   * revision (a compare-and-delete), then erases the deletion's marker too, so that nothing of
   * the key is left in the bucket.
   * @returns false when the key was written since (a placement took the slot): nothing removed.
   */
  remove(state: SlotKeyState): Promise<boolean>;
}

/** The slots bucket's keys on a server; the bucket must exist (AgentSlots.open makes it). */
export function natsSlotKeys(nc: NatsConnection): AgentSlotKeys {
  const stream = `KV_${SLOTS_BUCKET}`;
  const prefix = `$KV.${SLOTS_BUCKET}.`;
  let manager: Promise<JetStreamManager> | undefined;
  let store: Promise<JsonStore<SlotHolder>> | undefined;
  const jsm = () =>
    (manager ??= jetstreamManager(nc).catch((err: unknown) => ((manager = undefined), Promise.reject(err))));
  const slots = () =>
    (store ??= new Kvm(nc)
      .open(SLOTS_BUCKET)
      .then((kv) => new JsonStore<SlotHolder>(kv, 'AgentSlot', bucketStream(nc, SLOTS_BUCKET)))
      .catch((err: unknown) => ((store = undefined), Promise.reject(err))));
  const read = async (key: string): Promise<SlotKeyState | undefined> => {
    const agent = agentOfSlotKey(key);
    const m = agent && (await (await jsm()).streams.getMessage(stream, { last_by_subj: `${prefix}${key}` }));
    if (!agent || !m) return undefined;
    const held = (m.header?.get('KV-Operation') || 'PUT') === 'PUT';
    return { key, agent, revision: m.seq, at: m.time.getTime(), held };
  };
  /** Erases the key's message at `seq`; false when it is no longer there (the key was written since). */
  const erase = async (seq: number): Promise<boolean> =>
    (await jsm()).streams.deleteMessage(stream, seq, false).catch((err: unknown) => {
      if (err instanceof JetStreamApiError) return false;
      throw err;
    });
  return {
    keys: async () => {
      const info = await (await jsm()).streams.info(stream, { subjects_filter: `${prefix}>` });
      return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length));
    },
    read,
    remove: async (state) => {
      if (!state.held) return erase(state.revision);
      try {
        await (await slots()).delete(state.key, state.revision);
      } catch (err) {
        if (err instanceof ConflictError) return false;
        throw err;
      }
      // The bucket keeps one message a key (history 1): the marker just written, unless a
      // placement took the slot since (its value then replaced the marker, and stays).
      const marker = await read(state.key);
      if (marker && !marker.held) await erase(marker.revision);
      return true;
    },
  };
}
