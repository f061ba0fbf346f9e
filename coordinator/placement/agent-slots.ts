import { Kvm } from '@nats-io/kv';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AlreadyExistsError, ConflictError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { agentSlotKey, SLOTS_BUCKET } from '../../common/nats/names.js';
import { ensureReplicas } from '../../common/nats/streams.js';
import { isTerminal, type Build, type Versioned } from '../../api/types.js';
import { bucketStream, JsonStore } from '../store/json-store.js';

/** Which placement holds an agent's slot: one placement of one attempt of a build. */
export interface SlotHolder {
  /** The build's key, `<namespace>.<name>`. */
  build: string;
  attempt: number;
  /** The placement's number: the build's status.placements once the placement is written. */
  placement: number;
  /** When the slot was taken (ISO 8601). */
  at: string;
}

/** A slot taken for a placement about to be written. */
export interface SlotGrant {
  slot: number;
  /** The placement's write did not land: the slot is free again (a compare-and-set; a lost one is left to judgement). */
  release(): Promise<void>;
}

export interface AgentSlotsOptions {
  /**
   * How long a slot stays held by a placement this coordinator cannot see written (its build
   * not held, or at an earlier placement): a write in flight, or one that never landed because
   * its coordinator stopped between taking the slot and writing the build.
   */
  holdMs: number;
  /**
   * The build as the store's leader holds it: a slot whose holder's build the cache does not hold
   * (ended before this coordinator started, or an end its watch missed) is judged from it rather
   * than held for holdMs. Without it, such a slot waits out holdMs.
   */
  readBuild?: (key: string) => Promise<Versioned<Build> | undefined>;
  log: Logger;
}

/**
 * Each agent's build slots, one KV key per slot (`slipway_slots`, `<agent>/<slot>`), holding the
 * placement that took it. A placement takes a free slot by compare-and-set (create, or update
 * at the revision read) before its build is written: two coordinators giving an agent its last
 * slot at once both try the same key and one loses, so the builds placed and running on an
 * agent never outnumber its capacity (its heartbeat's concurrency).
 *
 * A slot is never written free on the happy path: whether its holder still holds it is judged
 * from the build's state (`isFree`), so a build that ends, is taken back or retried frees its
 * slot with no write, and the next placement takes the slot over at the revision read. Only a
 * placement whose build write loses gives the slot back (a delete). So a placement costs one
 * KV write more than before, and each coordinator's watch of the bucket one message.
 */
export class AgentSlots {
  /** Each slot's holder at the newest revision seen (watch) or written here. */
  private readonly slots = new Map<string, Versioned<SlotHolder>>();
  /** Builds this coordinator saw end or go (no longer held by its build cache), and when. */
  private readonly ended = new Map<string, number>();

  constructor(
    private readonly store: JsonStore<SlotHolder>,
    /** The build cache's state of an unfinished build; undefined for one ended, deleted, or not seen yet. */
    private readonly buildOf: (key: string) => Versioned<Build> | undefined,
    private readonly options: AgentSlotsOptions,
  ) {}

  /** Opens (or creates) the slots bucket. */
  static async open(
    nc: NatsConnection,
    replicas: number,
    buildOf: (key: string) => Versioned<Build> | undefined,
    options: AgentSlotsOptions,
  ): Promise<AgentSlots> {
    const kv = await new Kvm(nc).create(SLOTS_BUCKET, { storage: StorageType.File, replicas, history: 1 });
    await ensureReplicas(await jetstreamManager(nc), `KV_${SLOTS_BUCKET}`, replicas);
    const store = new JsonStore<SlotHolder>(kv, 'AgentSlot', bucketStream(nc, SLOTS_BUCKET));
    return new AgentSlots(store, buildOf, options);
  }

  /** Follows the bucket until `signal` aborts (the store's watch resumes by itself). */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const e of this.store.watch({ signal })) {
          const held = this.slots.get(e.key);
          if (held && held.revision >= e.revision) continue;
          if (e.value) this.slots.set(e.key, { value: e.value, revision: e.revision });
          else this.slots.delete(e.key);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.options.log.warn('slots watch failed; restarting', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** The build cache no longer holds `key`: it ended or was deleted. */
  buildGone(key: string, now: number): void {
    // Oldest first (a key seen again moves to the end), so the expired ones are at the front:
    // each call drops only those, not a scan of every build that ended within the hold.
    this.ended.delete(key);
    this.ended.set(key, now);
    if (this.ended.size <= 1000) return;
    for (const [k, at] of this.ended) {
      if (now - at <= 2 * this.options.holdMs) break;
      this.ended.delete(k);
    }
  }

  /**
   * Takes a free slot of `agent` (0 to capacity - 1) for `holder`, by compare-and-set. A
   * compare-and-set that loses is looked at once more, with the slot read from the bucket's
   * leader: this coordinator's view of it may be behind (its watch missed a change, or had not
   * brought it yet), and a slot judged on a stale revision would otherwise never be taken again.
   * @returns undefined when every slot is held (or was taken meanwhile by another coordinator).
   */
  async take(agent: string, capacity: number, holder: SlotHolder, now: number): Promise<SlotGrant | undefined> {
    for (let slot = 0; slot < capacity; slot++) {
      const key = agentSlotKey(agent, slot);
      let held = this.slots.get(key);
      for (let look = 0; look < 2; look++) {
        if (held && !(await this.judgedFree(agent, held.value, now))) break;
        let revision: number;
        try {
          revision = held ? await this.store.update(key, holder, held.revision) : await this.store.create(key, holder);
        } catch (err) {
          // Taken meanwhile, or our view was behind: read it, and judge it again once.
          if (!(err instanceof ConflictError || err instanceof AlreadyExistsError)) throw err;
          held = await this.reread(key);
          continue;
        }
        const mine = { value: holder, revision };
        const current = this.slots.get(key);
        if (!current || current.revision < revision) this.slots.set(key, mine);
        return { slot, release: () => this.release(key, revision) };
      }
    }
    return undefined;
  }

  /** The slot as the bucket's leader holds it, which also brings this coordinator's view up to it. */
  private async reread(key: string): Promise<Versioned<SlotHolder> | undefined> {
    const latest = await this.store.getLatest(key);
    const cached = this.slots.get(key);
    if (latest && (!cached || cached.revision < latest.revision)) this.slots.set(key, latest);
    if (!latest && cached) this.slots.delete(key);
    return latest;
  }

  /**
   * isFree, and for a holder whose build the cache does not hold, judged from the stored build
   * (readBuild): one that ended, or is gone, frees the slot at once instead of after holdMs.
   */
  private async judgedFree(agent: string, h: SlotHolder, now: number): Promise<boolean> {
    if (this.isFree(agent, h, now)) return true;
    if (!this.options.readBuild || this.buildOf(h.build) || this.ended.has(h.build)) return false;
    const stored = await this.options.readBuild(h.build);
    if (!stored || isTerminal(stored.value.status.phase)) {
      this.buildGone(h.build, now);
      return true;
    }
    return this.isFree(agent, h, now, stored);
  }

  private async release(key: string, revision: number): Promise<void> {
    try {
      await this.store.delete(key, revision);
      if (this.slots.get(key)?.revision === revision) this.slots.delete(key);
    } catch (err) {
      // Taken over already, or unanswered: judgement frees it (the build is not placed at this number).
      this.options.log.info('could not give a slot back', { slot: key, error: errorMessage(err) });
    }
  }

  /**
   * Whether the placement `h` on `agent` no longer holds its slot, judged from the build's state
   * in the build cache. A cache behind the bucket only delays a slot's freeing: each state that
   * frees it (ended, retried, placed again, taken back) comes after every state that holds it.
   * A placement not seen written yet (its write in flight) holds its slot for holdMs.
   * `entry`: the build's state to judge by; by default the cache's.
   */
  isFree(agent: string, h: SlotHolder, now: number, entry = this.buildOf(h.build)): boolean {
    const young = now - Date.parse(h.at) < this.options.holdMs;
    if (!entry) return this.ended.has(h.build) || !young;
    const s = entry.value.status;
    if (s.attempt !== h.attempt) return s.attempt > h.attempt || !young;
    const placements = s.placements ?? 0;
    if (placements > h.placement) return true;
    if (placements < h.placement) return !young;
    if (s.phase === 'Running') return s.agent !== agent;
    if (s.phase === 'Pending') return s.placement?.agent !== agent;
    return true;
  }
}
