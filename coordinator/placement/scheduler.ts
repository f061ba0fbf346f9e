import { ConflictError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { JobQueue } from '../../common/nats/jobs.js';
import type { AgentRecord } from '../agents/agent-registry.js';
import type { Build, Versioned } from '../../api/types.js';
import type { BuildsView } from '../store/build-cache.js';
import type { TransitionObserver } from '../builds/transition-observer.js';
import { expirePending, place, unplace, waitForPlacement } from '../builds/transitions.js';
import type { AgentDirectory } from './agent-directory.js';
import type { AgentSlots, SlotGrant } from './agent-slots.js';
import {
  decide,
  NO_LOAD,
  requests,
  Shapes,
  WarmIndex,
  type AgentView,
  type Candidate,
  type Decision,
  type Load,
  type LoadLookup,
} from './placement.js';
import { PlacementIndex, type WaitingGroup } from './placement-index.js';
import { jobOf } from './unclaimed-placements.js';
import { isolationOf, NO_NAMESPACE_POLICY, type UnprivilegedPolicy } from './unprivileged-policy.js';

/** A placement placeNow decided, holding its agent's slot until it is written or given up. */
export interface Reservation {
  /** The queued build, placed. */
  build: Build;
  /** The placed build was written: its job is published (the slot is the write's now). */
  landed(): Promise<void>;
  /**
   * The write did not land: the slot is free again. Idempotent. Given the write's error, the slot
   * taken in the store is given back only for a ConflictError (the write surely lost); after
   * another (its answer lost: it may have landed) the slot is left to judgement (agent-slots.ts).
   */
  release(cause?: unknown): void;
}

export interface SchedulerOptions {
  /** Cache affinity (placement.ts); off, every build goes to the least loaded agent. */
  affinity: boolean;
  /** How long a queued build waits for the agent holding its cache when that agent is full. */
  affinityGraceMs: number;
  /** A placed attempt unclaimed this long, whose job is not waiting its turn in its agent's queue, is placed again. */
  placementTimeoutMs: number;
  /**
   * A placed attempt still unclaimed when its agent heartbeats this long after the placement has
   * its job looked for then, not at placementTimeoutMs: a job gone from the queue, passed over,
   * or delivered to an earlier run of the agent is placed again at once (checkOverdue).
   */
  placementCheckMs: number;
  /** An agent silent this long is gone: nothing is placed on it, and what was is placed again. */
  agentGraceMs: number;
  /** WaitingForCapacity is written once a build has waited this long (a build placed at once is not written twice). */
  reasonDelayMs: number;
  /** A pass runs at least this often, for what only time changes (grace, deadlines, timeouts). */
  passIntervalMs: number;
  /** Most waiting-reason writes in one pass: the rest are written in later passes. */
  maxStatusWritesPerPass: number;
  /** Told of builds this scheduler ends (pendingDeadlineSeconds), once each across coordinators. */
  observer?: TransitionObserver;
  /**
   * The agents' slots in the store: each placement takes one by compare-and-set before it is
   * written, so coordinators placing at once never exceed an agent's capacity. Without it,
   * capacity is counted from this coordinator's view only.
   */
  slots?: AgentSlots;
  /**
   * Which builds must run in a user namespace (their config's security.unprivileged, or their
   * namespace's policy: SLIPWAY_UNPRIVILEGED_NAMESPACES); undefined: those whose config says so.
   */
  unprivileged?: UnprivilegedPolicy;
  log: Logger;
  clock?: () => Date;
}

export function defaultSchedulerOptions(log: Logger): SchedulerOptions {
  return {
    affinity: true,
    affinityGraceMs: 10_000,
    placementTimeoutMs: 30_000,
    placementCheckMs: 5000,
    agentGraceMs: 15_000,
    reasonDelayMs: 1000,
    passIntervalMs: 1000,
    maxStatusWritesPerPass: 50,
    log,
  };
}

/** Whether a push secret exists (of a type a build can use), for MissingPushSecret. */
export type SecretLookup = (namespace: string, name: string) => Promise<boolean>;

/**
 * Puts queued builds on agents (placement.ts decides; this writes). Each placement is a
 * compare-and-set on the build (status.placement), then the attempt's job is published to that
 * agent's own queue with a de-duplication id per placement; the agent's claim must name the
 * placed agent. So several coordinators' schedulers may run at once: only one placement of an
 * attempt lands, and a job copy of an older placement is refused at the claim.
 *
 * A placed build is placed again (its stale job copy withdrawn) when its agent goes silent,
 * drains or is cordoned, or when it stays unclaimed past placementTimeoutMs while its job is not
 * waiting its turn: the job was lost or passed over by the work queue (the chaos suite saw both
 * on nats-server 2.9.10 at R3 under kill -9).
 *
 * Capacity is counted from the builds placed on and running on each agent as this coordinator's
 * view has them, and each placement then takes one of the agent's slots in the store by
 * compare-and-set (agent-slots.ts) before it is written: two coordinators giving the same agent
 * its last free slot at the same moment both try that slot's key and one loses (its build waits
 * for the next pass). So the builds placed and running on an agent never outnumber its slots.
 */
export class Scheduler {
  private readonly clock: () => Date;
  private dirty = false;
  private running: Promise<void> | undefined;
  private readonly namespaceLastPlaced = new Map<string, number>();
  private readonly agentLastPlaced = new Map<string, number>();
  /** When each waiting build's reason was last written here: message-only changes are throttled. */
  private readonly reasonWritten = new Map<string, number>();
  /** When each overdue placement's job was last looked for in its agent's queue. */
  private readonly overdueChecked = new Map<string, number>();
  /** Whether placing is paused after a job could not be queued. */
  private readonly publishing = new PublishBackoff();
  /** The queued and placed builds and each agent's load, as the build cache holds them. */
  private readonly index: PlacementIndex;
  private readonly unprivileged: UnprivilegedPolicy;
  /** The live agents' warm lists, synced when the live agents change. */
  private readonly warmIndex = new WarmIndex();
  /** The live agents as last worked out, with what is derived from them. */
  private live: LiveAgents | undefined;
  /** Slots given by placeNow whose write has not landed yet: counted on their agents meanwhile. */
  private readonly reserved = new Map<string, Load>();
  /**
   * Waiting builds the last full pass found no agent for whatever the load (NoMatchingAgent,
   * AgentDraining, MissingPushSecret), always a subset of the waiting ones: a pass that only
   * places skips them; the next full pass (at most passIntervalMs later) looks at them again.
   */
  private readonly parked = new Set<string>();
  /** The next pass also writes waiting reasons (the timer's passes do; a kick's only places). */
  private fullPassDue = true;
  private kickQueued = false;

  constructor(
    private readonly builds: BuildsView,
    private readonly agents: AgentDirectory,
    private readonly jobs: JobQueue,
    private readonly secretExists: SecretLookup,
    private readonly options: SchedulerOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.unprivileged = options.unprivileged ?? NO_NAMESPACE_POLICY;
    this.index = new PlacementIndex(this.unprivileged);
    builds.onHeld((key, entry) => this.held(key, entry));
  }

  /**
   * The build cache's state of a build changed: a pass runs when that gives placement something
   * to do (a build to place, or a slot freed while builds wait), not on every change: most
   * builds are placed as they are queued (placeNow), and a pass then finds nothing.
   */
  private held(key: string, entry: Versioned<Build> | undefined): void {
    const wasWaiting = this.index.waiting.has(key);
    const before = this.index.totalSlots;
    this.index.held(key, entry);
    if (!entry) this.options.slots?.buildGone(key, this.clock().getTime());
    const waits = this.index.waiting.has(key);
    if (!waits) this.parked.delete(key);
    const freed = this.index.totalSlots < before && this.index.waiting.size > this.parked.size;
    if ((waits && !wasWaiting) || freed) this.kickSoon();
  }

  /** The agents' heartbeats changed: a pass when there is something to place or a placement that may need taking back. */
  agentsChanged(): void {
    if (this.index.waiting.size > this.parked.size || this.index.placed.size > 0) this.kickSoon();
  }

  /** A kick once the current task is done: changes that come together get one pass. */
  private kickSoon(): void {
    if (this.kickQueued) return;
    this.kickQueued = true;
    queueMicrotask(() => {
      this.kickQueued = false;
      this.kick();
    });
  }

  /** Something changed that placement depends on: a pass runs soon. */
  kick(): void {
    this.dirty = true;
    if (!this.running) this.running = this.loop().finally(() => (this.running = undefined));
  }

  /** Runs passes on every kick and every passIntervalMs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const timer = setInterval(() => {
      this.fullPassDue = true;
      this.kick();
    }, this.options.passIntervalMs);
    try {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      clearInterval(timer);
      await this.running;
    }
  }

  private async loop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const full = this.fullPassDue;
      this.fullPassDue = false;
      try {
        await this.pass(full);
      } catch (err) {
        this.options.log.warn('placement pass failed; the next one tries again', { error: errorMessage(err) });
      }
    }
  }

  /**
   * One look at the queued and placed builds and the live agents; writes what placement decides.
   * A full pass also writes why builds wait; one that is not (a kick's: something changed) only
   * places, and stops deciding once no agent has a free slot.
   */
  async pass(full = true): Promise<void> {
    // Before the listing is complete, running builds may be missing: their agents would look free.
    if (!this.builds.listedAll) return;
    const now = this.clock().getTime();
    const live = this.liveAgents(now);
    const views = live.views;
    const candidates: Candidate[] = [];
    const takeBack: { key: string; entry: Versioned<Build>; why: string }[] = [];
    const overdue: { key: string; entry: Versioned<Build> }[] = [];
    const expired: { key: string; entry: Versioned<Build>; next: Build }[] = [];
    for (const [key, entry] of this.index.placed) {
      const placed = entry.value.status.placement!;
      const agent = views.get(placed.agent);
      if (!agent)
        takeBack.push({
          key,
          entry,
          why: `agent ${placed.agent} has sent no heartbeat for ${this.options.agentGraceMs / 1000} s`,
        });
      else if (agent.unschedulable)
        takeBack.push({ key, entry, why: `agent ${placed.agent} is ${agent.unschedulable}` });
      else if (this.dueForCheck(key, placed.agent, Date.parse(placed.timestamp), now)) overdue.push({ key, entry });
    }
    const candidate = (key: string, entry: Versioned<Build>) =>
      candidates.push({
        key,
        build: entry.value,
        revision: entry.revision,
        queuedAt: Date.parse(entry.value.status.queuedTimestamp!),
      });
    if (full) {
      this.parked.clear();
      for (const [key, entry] of this.index.waiting) {
        const next = expirePending(entry.value, new Date(now));
        if (next) expired.push({ key, entry, next });
        else candidate(key, entry);
      }
    } else {
      // Only placing: of each namespace's builds of a kind whose agents have a free slot, the
      // first (not those the last full pass found no agent for whatever the load), a few more
      // than there are free slots: the fair order among them is the order among all that could
      // take those slots.
      const free = this.freeSlots(live);
      if (free > 0)
        for (const group of this.waitingGroupsWithRoom(live)) {
          let taken = 0;
          for (const [key, entry] of group.builds) {
            // A few more than the free slots: one waiting for its warm agent does not hold the next back.
            if (taken >= free + 16) break;
            if (this.parked.has(key)) continue;
            candidate(key, entry);
            taken++;
          }
        }
    }

    const decisions = await this.decide(candidates, live, now, !full);
    const byKey = new Map(candidates.map((c) => [c.key, c]));
    if (full)
      for (const d of decisions) if (d.kind === 'wait' && d.reason !== 'WaitingForCapacity') this.parked.add(d.key);
    const placing = decisions.filter((d) => d.kind === 'place');
    await Promise.all([
      ...placing.map((d) => this.place(d, byKey.get(d.key)!)),
      ...(full ? this.waits(decisions, byKey, now) : []),
      ...takeBack.map((t) => this.takeBack(t.key, t.entry, t.why)),
      ...overdue.map((o) => this.checkOverdue(o.key, o.entry)),
      ...expired.map((e) => this.expire(e.key, e.entry, e.next)),
    ]);
    if (full) for (const key of this.reasonWritten.keys()) if (!byKey.has(key)) this.reasonWritten.delete(key);
    for (const key of this.overdueChecked.keys())
      if (now - this.overdueChecked.get(key)! > 60_000) this.overdueChecked.delete(key);
  }

  /**
   * A placement for a build being queued now (the build controller's New → Pending write), so
   * that one write queues and places it: when an agent has room, as a pass would decide it, and
   * no waiting build could take that slot (they go first, in fair order). The slot is held until `landed` or
   * `release` is called; `landed` then publishes the job as a pass's placement does.
   * @returns undefined when the build is to wait for a pass.
   */
  async placeNow(key: string, queued: Build): Promise<Reservation | undefined> {
    if (!this.builds.listedAll) return undefined;
    const s = queued.status;
    if (s.phase !== 'Pending' || !s.queuedTimestamp || s.placement) return undefined;
    const now = this.clock();
    const candidate: Candidate = { key, build: queued, revision: 0, queuedAt: now.getTime() };
    const live = this.liveAgents(now.getTime());
    const [d] = await this.decide([candidate], live, now.getTime(), false);
    if (d?.kind !== 'place') return undefined;
    // Builds already waiting that could take this agent's slot go first (fair order): then this
    // one waits its turn with them. Those that cannot use it are not held back by it.
    for (const group of this.waitingGroupsWithRoom(live))
      if (group.open.has(d.agent.name) && this.hasUnparked(group)) return undefined;
    const placed = place(queued, s.attempt, { name: d.agent.name, node: d.agent.node }, d.why, now);
    if (!placed) return undefined;
    const wanted = requests(queued);
    const agent = d.agent.name;
    this.reserve(agent, 1, wanted);
    let grant: SlotGrant | undefined;
    try {
      grant = await this.takeSlot(d.agent, key, placed, now.getTime());
    } catch (err) {
      this.log(queued).info('could not take a slot for the placement; a pass places the build', {
        agent,
        error: errorMessage(err),
      });
    }
    if (!grant) {
      // Another coordinator gave the agent its last slot meanwhile: the build waits for a pass.
      this.reserve(agent, -1, wanted);
      return undefined;
    }
    let held = true;
    const release = (cause?: unknown) => {
      if (held) {
        this.reserve(agent, -1, wanted);
        if (cause === undefined || cause instanceof ConflictError) void grant.release();
      }
      held = false;
    };
    return {
      build: placed,
      release,
      landed: async () => {
        // The slot stays taken: the placement written holds it now.
        if (held) this.reserve(agent, -1, wanted);
        held = false;
        this.namespaceLastPlaced.set(queued.metadata.namespace, now.getTime());
        this.agentLastPlaced.set(agent, now.getTime());
        await this.publish(placed, agent, d.why);
      },
    };
  }

  /** placement.ts's decision on `candidates` with the live agents, their loads and this scheduler's history. */
  private async decide(
    candidates: Candidate[],
    live: LiveAgents,
    now: number,
    stopWhenFull: boolean,
  ): Promise<Decision[]> {
    const missing = await this.missingPushSecrets(candidates);
    return decide(candidates, live.list, this.loads, {
      now,
      affinity: this.options.affinity,
      affinityGraceMs: this.options.affinityGraceMs,
      warmIndex: this.options.affinity ? this.warmIndex : undefined,
      namespaceLastPlaced: this.namespaceLastPlaced,
      agentLastPlaced: this.agentLastPlaced,
      missingPushSecret: (b) => missingSecret(missing, b),
      stopWhenFull,
      unprivileged: this.unprivileged,
      shapes: live.shapes,
    });
  }

  /** Whether a waiting group holds a build the last full pass did not park. */
  private hasUnparked(group: WaitingGroup): boolean {
    for (const key of group.builds.keys()) if (!this.parked.has(key)) return true;
    return false;
  }

  private reserve(agent: string, slots: number, wanted: { cpuMillis: number; memoryBytes: number }): void {
    const r = this.reserved.get(agent) ?? NO_LOAD;
    const next = {
      slots: r.slots + slots,
      cpuMillis: r.cpuMillis + slots * wanted.cpuMillis,
      memoryBytes: r.memoryBytes + slots * wanted.memoryBytes,
    };
    if (next.slots === 0) this.reserved.delete(agent);
    else this.reserved.set(agent, next);
  }

  /** What the builds placed on, running on, and being placed on an agent take (worked out when asked). */
  private readonly loads: LoadLookup = {
    get: (name: string): Load => {
      const l = this.index.load(name);
      const r = this.reserved.get(name);
      if (!r) return l;
      return {
        slots: l.slots + r.slots,
        cpuMillis: l.cpuMillis + r.cpuMillis,
        memoryBytes: l.memoryBytes + r.memoryBytes,
      };
    },
  };

  /** The waiting groups whose kind of build some agent with a free slot could take, with those agents' names. */
  private waitingGroupsWithRoom(live: LiveAgents): (WaitingGroup & { open: Set<string> })[] {
    if (this.index.waitingGroups.size === 0) return [];
    const room = new Set<string>();
    for (const a of live.list) if (!a.unschedulable && this.loads.get(a.name)!.slots < a.capacity) room.add(a.name);
    if (room.size === 0) return [];
    const found: (WaitingGroup & { open: Set<string> })[] = [];
    for (const group of this.index.waitingGroups.values()) {
      const first = group.builds.values().next().value!;
      const shape = live.shapes.of(first.value, group.shape);
      if (shape.kind !== 'open') continue;
      const open = new Set(shape.open.filter((a) => room.has(a.name)).map((a) => a.name));
      if (open.size > 0) found.push({ ...group, open });
    }
    return found;
  }

  /** Slots free on the schedulable live agents (reservations counted). */
  private freeSlots(live: LiveAgents): number {
    let free = 0;
    for (const a of live.list) {
      if (a.unschedulable) continue;
      free += Math.max(0, a.capacity - this.index.load(a.name).slots - (this.reserved.get(a.name)?.slots ?? 0));
    }
    return free;
  }

  /**
   * The live agents and what placement derives from them (each kind of build's agents, the warm
   * index), worked out again only when a heartbeat came or an agent fell silent since: placement
   * runs on every dispatch, heartbeats come every few seconds.
   */
  private liveAgents(now: number): LiveAgents {
    const known = this.live;
    if (known && known.version === this.agents.version && now >= known.from && now < known.until) return known;
    const { agents, until } = this.agents.liveUntil(now, this.options.agentGraceMs);
    const list = agents.map(agentView);
    if (this.options.affinity) this.warmIndex.sync(list);
    this.live = {
      list,
      views: new Map(list.map((v) => [v.name, v])),
      shapes: new Shapes(list, this.unprivileged),
      version: this.agents.version,
      from: now,
      until,
    };
    return this.live;
  }

  private async place(d: Extract<Decision, { kind: 'place' }>, c: Candidate): Promise<void> {
    const b = c.build;
    const now = this.clock();
    const next = place(b, b.status.attempt, { name: d.agent.name, node: d.agent.node }, d.why, now);
    if (!next) return;
    const grant = await this.takeSlot(d.agent, c.key, next, now.getTime());
    // Another coordinator gave the agent its last slot meanwhile: the next pass decides again.
    if (!grant) return;
    // Given back only when the write surely lost; after another error it may have landed.
    const written = await this.write(c.key, next, c.revision);
    if (written === undefined) {
      await grant.release();
      return;
    }
    this.namespaceLastPlaced.set(b.metadata.namespace, now.getTime());
    this.agentLastPlaced.set(d.agent.name, now.getTime());
    await this.publish(next, d.agent.name, d.why);
  }

  /**
   * A slot of `agent` for the placement `placed` (not yet written), taken in the store; a no-op
   * grant without a slots store. Undefined when every slot of the agent is held.
   */
  private async takeSlot(agent: AgentView, key: string, placed: Build, now: number): Promise<SlotGrant | undefined> {
    const slots = this.options.slots;
    if (!slots) return { slot: -1, release: () => Promise.resolve() };
    const s = placed.status;
    return slots.take(
      agent.name,
      agent.capacity,
      {
        build: key,
        attempt: s.attempt,
        placement: s.placements ?? 1,
        at: new Date(now).toISOString(),
      },
      now,
    );
  }

  /**
   * Queues the job of a placement that was written. When the work queue refuses it, or has just
   * refused one (a pause, PublishBackoff), the placement stands without a job: the agent's
   * heartbeat answer names it once it is placementRemindMs old (UnclaimedPlacements), and the
   * agent claims it then. So a jobs stream that refuses publishes for a minute (NATS electing
   * its leader) delays builds by a heartbeat or two instead of stopping placement.
   */
  private async publish(placed: Build, agent: string, why: string): Promise<void> {
    const now = this.clock().getTime();
    if (this.publishing.blocked(now)) {
      this.log(placed).info(
        "build placed; its job is left to the agent's heartbeat (the work queue refused the last one)",
        {
          agent,
          why,
        },
      );
      return;
    }
    try {
      await this.jobs.publish(jobOf(placed), agent);
      this.publishing.succeeded();
      this.log(placed).info('build placed', { agent, why });
    } catch (err) {
      // Not published again for a while: the work queue is likely down for every agent, and each
      // publish would wait for its timeout.
      const pauseMs = this.publishing.failed(this.clock().getTime());
      this.log(placed).warn('queueing the placed job failed; the agent is told at its heartbeat', {
        agent,
        error: errorMessage(err),
        publishingPausedMs: pauseMs,
      });
    }
  }

  /** The waiting reasons that changed, within the per-pass budget: reason changes first, then the longest unwritten. */
  private waits(decisions: Decision[], byKey: Map<string, Candidate>, now: number): Promise<void>[] {
    const due: { c: Candidate; d: Extract<Decision, { kind: 'wait' }>; urgent: boolean }[] = [];
    for (const d of decisions) {
      if (d.kind !== 'wait') continue;
      const c = byKey.get(d.key)!;
      // A build that will likely be placed in a moment is not written twice.
      if (d.reason === 'WaitingForCapacity' && now - c.queuedAt < this.options.reasonDelayMs) continue;
      const urgent = c.build.status.reason !== d.reason;
      // Only the count ahead changed: at most every 5 s.
      if (!urgent && (c.build.status.message === d.message || now - (this.reasonWritten.get(d.key) ?? 0) < 5000))
        continue;
      due.push({ c, d, urgent });
    }
    due.sort(
      (a, b) =>
        Number(b.urgent) - Number(a.urgent) ||
        (this.reasonWritten.get(a.c.key) ?? 0) - (this.reasonWritten.get(b.c.key) ?? 0),
    );
    // The next states of those within the budget only (of 10,000 waiting, a pass writes a few).
    const writes: { c: Candidate; d: Extract<Decision, { kind: 'wait' }>; next: Build }[] = [];
    for (const { c, d } of due) {
      if (writes.length >= this.options.maxStatusWritesPerPass) break;
      const next = waitForPlacement(c.build, c.build.status.attempt, d.reason, d.message, new Date(now));
      if (next) writes.push({ c, d, next });
    }
    return writes.map(async ({ c, d, next }) => {
      if ((await this.write(c.key, next, c.revision)) === undefined) return;
      this.reasonWritten.set(c.key, now);
      if (c.build.status.reason !== d.reason)
        this.log(c.build).info('build waits for placement', { reason: d.reason, message: d.message });
    });
  }

  /** A placed build back to waiting for placement, and its job copy out of the agent's queue. */
  private async takeBack(key: string, entry: Versioned<Build>, why: string): Promise<void> {
    const b = entry.value;
    const from = b.status.placement?.agent;
    const next = unplace(b, b.status.attempt, why, this.clock());
    if (!next || !from) return;
    // The compare-and-set first: from then on a claim by the old agent is refused.
    if ((await this.write(key, next, entry.revision)) === undefined) return;
    this.log(b).warn('placement taken back', { agent: from, why });
    await this.jobs.withdraw(jobOf(b), from).catch((err) => {
      // A stale copy left behind is refused at its claim; this only saves the agent the try.
      this.log(b).info('could not withdraw the stale job copy', { agent: from, error: errorMessage(err) });
    });
  }

  /**
   * Whether a placed, unclaimed build's job is to be looked for in its agent's queue now: once
   * its agent has heartbeated placementCheckMs after the placement (alive, yet it has not
   * claimed it), or past placementTimeoutMs whatever its heartbeats; at most every 5 s a build
   * (two JetStream requests each time). A build claimed at once is never looked for.
   */
  private dueForCheck(key: string, agent: string, placedAt: number, now: number): boolean {
    const heardAt = this.agents.heard(agent)?.at ?? 0;
    const due =
      now - placedAt >= this.options.placementTimeoutMs || heardAt - placedAt >= this.options.placementCheckMs;
    if (!due || now - (this.overdueChecked.get(key) ?? 0) < 5000) return false;
    this.overdueChecked.set(key, now);
    return true;
  }

  /**
   * A placement its agent has not claimed (dueForCheck): placed again when its job is gone from
   * the work queue (lost with a NATS node, or never published: its coordinator died between the
   * write and the publish) or passed over, or was delivered to a run of the agent that has since
   * restarted (JetStream would deliver it again only after ack_wait); past placementTimeoutMs,
   * also when it was delivered and not claimed. A job waiting its turn is left alone. Placing
   * again is safe whatever the race: the take-back is a compare-and-set, after which the old
   * copy's claim is refused, and a claim that landed first makes the take-back lose.
   */
  private async checkOverdue(key: string, entry: Versioned<Build>): Promise<void> {
    const b = entry.value;
    const placed = b.status.placement!;
    const where = await this.jobs.state(jobOf(b), placed.agent);
    if (where.state === 'waiting') return;
    const placedAt = Date.parse(placed.timestamp);
    const seconds = Math.round((this.clock().getTime() - placedAt) / 1000);
    const timedOut = this.clock().getTime() - placedAt >= this.options.placementTimeoutMs;
    const restarted = (this.agents.heard(placed.agent)?.instanceSince ?? 0) > placedAt;
    // Delivered to the run of the agent that is heartbeating: it is claiming it, or gets it again after ack_wait.
    if (where.state === 'delivered' && !restarted && !timedOut) return;
    const why =
      where.state === 'missing'
        ? `its job was gone from the work queue after ${seconds} s unclaimed`
        : where.state === 'passed-over'
          ? `its job was passed over by the work queue, not claimed in ${seconds} s`
          : restarted
            ? `its job was delivered to a run of agent ${placed.agent} that has since restarted, not claimed in ${seconds} s`
            : `its job was delivered but not claimed in ${seconds} s`;
    await this.takeBack(key, entry, why);
  }

  private async expire(key: string, entry: Versioned<Build>, next: Build): Promise<void> {
    if ((await this.write(key, next, entry.revision)) === undefined) return;
    // Only the coordinator whose compare-and-set landed gets here.
    this.options.observer?.finished(next);
    this.log(entry.value).warn('build not placed within its pendingDeadlineSeconds', {
      reason: next.status.reason,
      message: next.status.message,
    });
  }

  /** Push secrets the candidates name that do not exist, by `namespace/name`. */
  private async missingPushSecrets(candidates: Candidate[]): Promise<Map<string, string>> {
    const named = new Set<string>();
    for (const c of candidates) {
      const name = c.build.spec.config.output.pushSecret?.name;
      if (name) named.add(`${c.build.metadata.namespace}/${name}`);
    }
    const missing = new Map<string, string>();
    await Promise.all(
      [...named].map(async (ref) => {
        const [namespace, name] = ref.split('/') as [string, string];
        if (!(await this.secretExists(namespace, name))) missing.set(ref, name);
      }),
    );
    return missing;
  }

  /** A compare-and-set; undefined when it lost (the next pass decides again on fresh state). */
  private async write(key: string, next: Build, revision: number): Promise<number | undefined> {
    try {
      return await this.builds.update(key, next, revision);
    } catch (err) {
      if (err instanceof ConflictError) {
        this.kick();
        return undefined;
      }
      throw err;
    }
  }

  private log(b: Build): Logger {
    return this.options.log.child({ build: `${b.metadata.namespace}/${b.metadata.name}`, attempt: b.status.attempt });
  }
}

/** Each heartbeat's view, made once: a pass runs on every dispatch, a heartbeat comes every few seconds. */
const agentViews = new WeakMap<AgentRecord, AgentView>();

/** What placement needs of an agent's heartbeat. */
function agentView(a: AgentRecord): AgentView {
  let view = agentViews.get(a);
  if (!view) agentViews.set(a, (view = viewOf(a)));
  return view;
}

function viewOf(a: AgentRecord): AgentView {
  return {
    name: a.agent,
    node: a.node,
    labels: a.nodeLabels,
    capacity: a.capacity ?? 1,
    cpuMillis: a.allocatable?.cpuMillis,
    memoryBytes: a.allocatable?.memoryBytes,
    unschedulable: a.draining ? 'draining' : a.cordoned ? 'cordoned' : undefined,
    warmConfigs: a.warm?.configs ?? [],
    warmImages: a.warm?.images ?? [],
    limitsDockerfileBuilds: a.limitsDockerfileBuilds ?? false,
    daemonPerBuild: a.daemonPerBuild ?? false,
    isolation: isolationOf(a.isolation),
  };
}

/** The live agents at a moment, and what placement derives from them, valid from `from` until `until` (ms) at `version` of the directory. */
interface LiveAgents {
  list: AgentView[];
  views: Map<string, AgentView>;
  shapes: Shapes;
  version: number;
  from: number;
  until: number;
}

/** The push secret the build names, when `missing` has it. */
function missingSecret(missing: Map<string, string>, b: Build): string | undefined {
  const name = b.spec.config.output.pushSecret?.name;
  return name === undefined || missing.size === 0 ? undefined : missing.get(`${b.metadata.namespace}/${name}`);
}

/**
 * A pause in queueing jobs after one could not be queued (the jobs stream unavailable): 250 ms
 * after the first failure, doubling with each failure in a row up to 8 s; one job queued ends
 * it. Placing goes on meanwhile: agents claim those placements from their heartbeat answers.
 */
export class PublishBackoff {
  private until = 0;
  private pauseMs = 0;

  blocked(now: number): boolean {
    return now < this.until;
  }

  /** @returns how long queueing is paused from `now`. */
  failed(now: number): number {
    // Placements of one pass fail together: they count as one failure.
    if (now < this.until) return this.until - now;
    this.pauseMs = Math.min(this.pauseMs === 0 ? 250 : this.pauseMs * 2, 8000);
    this.until = now + this.pauseMs;
    return this.pauseMs;
  }

  succeeded(): void {
    this.pauseMs = 0;
    this.until = 0;
  }
}
