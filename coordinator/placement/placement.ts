import { formatLabels, unmatchedSelector } from '../../common/node-selector.js';
import { formatResources, parseQuantity } from '../../common/quantity.js';
import type { Build, PendingReason } from '../../api/types.js';
import { NO_NAMESPACE_POLICY, type Isolation, type UnprivilegedPolicy } from './unprivileged-policy.js';

/**
 * Where queued builds go, as a pure function of the queue, the agents and what they run: the
 * scheduler (scheduler.ts) calls it on every pass and writes what it decides.
 *
 * For each build, in fair order (fairOrder):
 * 1. its push secret must exist, else MissingPushSecret;
 * 2. some live agent's labels must match its nodeSelector, and that agent must be able to hold
 *    its resources at all, else NoMatchingAgent (naming the selector); a Dockerfile build with
 *    resources (memory or cpu) matches only agents that advertise `limitsDockerfileBuilds`
 *    (BuildKit on a shared daemon ignores a build's limits: only a daemon of the build's own,
 *    the dind executor's, holds it to them), else NoMatchingAgent saying so; a build that must
 *    be unprivileged (its config's security.unprivileged, or its namespace's policy:
 *    UnprivilegedPolicy) matches only agents whose isolation is `userns`, else NoMatchingAgent
 *    saying which policy asks for it and what each matching agent's builds are instead; a custom
 *    builder given a Docker daemon (exposeDockerSocket) matches only agents that advertise
 *    `daemonPerBuild` (the dind executor), else NoMatchingAgent saying so;
 * 3. one of those must be schedulable (not draining, node not cordoned), else AgentDraining;
 * 4. with affinity on, the agent that holds its cache warmest (its config built there, else its
 *    base image pulled there) takes it when it has room; when that agent is full, the build waits
 *    for it up to `affinityGraceMs` after it was queued;
 * 5. otherwise the least loaded matching agent with room takes it (busy slots over capacity,
 *    then the one placed on longest ago, then by name), else WaitingForCapacity, saying how many
 *    builds are ahead of it.
 * Room: a free slot (capacity minus builds placed on or running there), and the CPU and memory
 * its builds' resources take left over (figures an agent does not advertise are not counted).
 */

export interface AgentView {
  name: string;
  node: string;
  labels: Record<string, string>;
  /** Builds it runs at once. */
  capacity: number;
  cpuMillis?: number;
  memoryBytes?: number;
  /** Why it takes no new builds, or undefined when it does. */
  unschedulable?: 'draining' | 'cordoned';
  /** Configs (`namespace/name`) and base images it holds warm, newest first. */
  warmConfigs: string[];
  warmImages: string[];
  /**
   * Its executor holds a Dockerfile build to the build's resources (dind: a daemon of the build's
   * own in a limited cgroup). False for the node's shared daemon, whose BuildKit ignores them.
   */
  limitsDockerfileBuilds: boolean;
  /** Its executor starts a daemon of a build's own (dind): only such agents take exposeDockerSocket builds. */
  daemonPerBuild: boolean;
  /** What its builds' root is on the node (its heartbeat's isolation); only `userns` takes unprivileged builds. */
  isolation: Isolation;
}

/** What an agent's placed and running builds take. */
export interface Load {
  slots: number;
  cpuMillis: number;
  memoryBytes: number;
}

export interface Candidate {
  key: string;
  build: Build;
  /** The build's revision as read: what a write of the decision names. */
  revision: number;
  /** When its attempt was queued (ms). */
  queuedAt: number;
}

export interface PlacementInputs {
  now: number;
  /** Off: no cache affinity (every build goes to the least loaded agent). */
  affinity: boolean;
  affinityGraceMs: number;
  /** When each namespace last had a build placed: fairOrder serves the longest waiting first. */
  namespaceLastPlaced: ReadonlyMap<string, number>;
  /** When each agent was last given a build: among equally loaded agents, the longest idle first. */
  agentLastPlaced: ReadonlyMap<string, number>;
  /** The name of a push secret the build names that does not exist, if any. */
  missingPushSecret: (build: Build) => string | undefined;
  /**
   * Stop once no schedulable agent has a free slot: the builds after that get no decision (a
   * pass that only places, leaving the waiting reasons to a full pass).
   */
  stopWhenFull?: boolean;
  /** The agents' warm lists, indexed and synced with `agents` (WarmIndex); undefined: indexed for this call. */
  warmIndex?: WarmIndex;
  /** Which builds must run in a user namespace; undefined: those whose config says so. */
  unprivileged?: UnprivilegedPolicy;
  /** Each kind of build's agents, worked out for these `agents` (kept while they do not change); undefined: for this call. */
  shapes?: Shapes;
}

/** What the builds placed on and running on each agent take, by agent name (undefined: nothing). */
export interface LoadLookup {
  get(agent: string): Load | undefined;
}

export type Decision =
  | { key: string; kind: 'place'; agent: AgentView; why: string }
  | { key: string; kind: 'wait'; reason: PendingReason; message: string };

export const NO_LOAD: Load = { slots: 0, cpuMillis: 0, memoryBytes: 0 };

/** The CPU (millicores) and memory (bytes) a build's resources ask for; 0 when not set. */
export function requests(build: Build): { cpuMillis: number; memoryBytes: number } {
  const r = build.spec.config.resources;
  const cpu = r?.cpu !== undefined ? parseQuantity(String(r.cpu)) : undefined;
  const memory = r?.memory !== undefined ? parseQuantity(String(r.memory)) : undefined;
  return { cpuMillis: Math.round((cpu ?? 0) * 1000), memoryBytes: Math.round(memory ?? 0) };
}

/**
 * The order builds are offered to agents: namespaces take turns, the one whose last placement
 * is longest ago (never: first) going first; within a namespace, oldest queued first (then by
 * name). So one tenant's 500 queued builds hold another tenant's one build back by at most one
 * placement per free slot.
 */
export function fairOrder(candidates: Candidate[], namespaceLastPlaced: ReadonlyMap<string, number>): Candidate[] {
  const byNamespace = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const ns = c.build.metadata.namespace;
    let list = byNamespace.get(ns);
    if (!list) byNamespace.set(ns, (list = []));
    list.push(c);
  }
  for (const list of byNamespace.values()) list.sort((a, b) => a.queuedAt - b.queuedAt || a.key.localeCompare(b.key));
  const namespaces = [...byNamespace.keys()].sort(
    (a, b) =>
      (namespaceLastPlaced.get(a) ?? -Infinity) - (namespaceLastPlaced.get(b) ?? -Infinity) || a.localeCompare(b),
  );
  const order: Candidate[] = [];
  for (let i = 0; order.length < candidates.length; i++) {
    for (const ns of namespaces) {
      const c = byNamespace.get(ns)![i];
      if (c) order.push(c);
    }
  }
  return order;
}

export function decide(
  candidates: Candidate[],
  agents: AgentView[],
  load: LoadLookup,
  inputs: PlacementInputs,
): Decision[] {
  // What this call's placements add, on the agents it placed on only: a call places a few builds
  // among many agents, and runs on every dispatch.
  const taken = new Map<string, Load>();
  const used = (name: string) => taken.get(name) ?? load.get(name) ?? NO_LOAD;
  // This call's placements over the scheduler's history (not a copy of it: a call runs on every dispatch).
  const placedHere = new Map<string, number>();
  const lastPlaced = { get: (name: string) => placedHere.get(name) ?? inputs.agentLastPlaced.get(name) };
  const decisions: Decision[] = [];
  let ahead = 0;
  // Slots free on schedulable agents: with stopWhenFull, the pass ends when none is left.
  let free = 0;
  for (const a of agents) if (!a.unschedulable) free += Math.max(0, a.capacity - used(a.name).slots);
  // Builds of a config share a selector and resources: which agents can take them at all is
  // worked out once a pass for each such shape, not once a build.
  const shapes = inputs.shapes ?? new Shapes(agents, inputs.unprivileged);
  const shapeOf = (build: Build) => shapes.of(build);
  const warmth = inputs.affinity ? (inputs.warmIndex ?? new WarmIndex().sync(agents)) : undefined;
  for (const c of fairOrder(candidates, inputs.namespaceLastPlaced)) {
    if (inputs.stopWhenFull && free <= 0) break;
    const wait = (reason: PendingReason, message: string) =>
      decisions.push({ key: c.key, kind: 'wait', reason, message });
    const build = c.build;
    const missing = inputs.missingPushSecret(build);
    if (missing) {
      wait('MissingPushSecret', `push secret "${missing}" does not exist in namespace ${build.metadata.namespace}`);
      continue;
    }
    const shape = shapeOf(build);
    if (shape.kind === 'wait') {
      wait(shape.reason, shape.message);
      continue;
    }
    const { open, wanted } = shape;
    const hasRoom = (a: AgentView) => fits(a, used(a.name), wanted);
    const take = (agent: AgentView, why: string) => {
      const u = used(agent.name);
      taken.set(agent.name, {
        slots: u.slots + 1,
        cpuMillis: u.cpuMillis + wanted.cpuMillis,
        memoryBytes: u.memoryBytes + wanted.memoryBytes,
      });
      if (u.slots < agent.capacity) free--;
      placedHere.set(agent.name, inputs.now);
      decisions.push({ key: c.key, kind: 'place', agent, why });
    };
    const warm = warmth?.warmest(build, shape.openNames);
    if (warm) {
      if (hasRoom(warm.agent)) {
        take(warm.agent, `it holds ${warm.what}`);
        continue;
      }
      const left = c.queuedAt + inputs.affinityGraceMs - inputs.now;
      if (left > 0) {
        wait(
          'WaitingForCapacity',
          `waiting up to ${Math.ceil(left / 1000)} s for agent ${warm.agent.name}, which holds ${warm.what}; ${ahead} build(s) ahead`,
        );
        ahead++;
        continue;
      }
    }
    const agent = free > 0 ? leastLoaded(open, hasRoom, used, lastPlaced) : undefined;
    if (agent) {
      take(agent, `least loaded of ${open.length} matching agent(s)`);
      continue;
    }
    wait(
      'WaitingForCapacity',
      `all ${open.length} agent(s) that match ${selectorText(shape.selector)} are full; ${ahead} build(s) ahead`,
    );
    ahead++;
  }
  return decisions;
}

/**
 * What decides which agents a build can go to at all: its nodeSelector, resources, whether it
 * needs a daemon held to its limits or one of its own, and why it must be unprivileged (the reason's text, which
 * its waiting message repeats). Builds of one config share it.
 */
export function shapeKey(build: Build, policy: UnprivilegedPolicy = NO_NAMESPACE_POLICY): string {
  // Asked for every build on every placement: worked out once a build's spec (its frozen copy
  // of the config, which its later states share; nothing here changes a spec in place).
  const known = shapeKeys.get(build.spec);
  if (known?.policy === policy && known.namespace === build.metadata.namespace) return known.key;
  const key = shapeKeyOf(build, policy);
  shapeKeys.set(build.spec, { policy, namespace: build.metadata.namespace, key });
  return key;
}

const shapeKeys = new WeakMap<Build['spec'], { policy: UnprivilegedPolicy; namespace: string; key: string }>();

function shapeKeyOf(build: Build, policy: UnprivilegedPolicy): string {
  const selector = build.spec.config.nodeSelector ?? {};
  const wanted = requests(build);
  return `${JSON.stringify(Object.entries(selector).sort())}|${wanted.cpuMillis}|${wanted.memoryBytes}|${needsLimitedDaemon(build)}|${needsOwnDaemon(build)}|${build.spec.platform ?? ''}|${policy.required(build) ?? ''}`;
}

/** Each kind of build's agents (Shape), worked out once for a set of agents: one pass's. */
export class Shapes {
  private readonly known = new Map<string, Shape>();

  constructor(
    private readonly agents: AgentView[],
    private readonly policy: UnprivilegedPolicy = NO_NAMESPACE_POLICY,
  ) {}

  /** The agents builds of `build`'s shape can go to (open), or why they wait whatever the load. */
  of(build: Build, key = shapeKey(build, this.policy)): Shape {
    let shape = this.known.get(key);
    if (!shape) {
      const selector = build.spec.config.nodeSelector ?? {};
      const needs = {
        limited: needsLimitedDaemon(build),
        ownDaemon: needsOwnDaemon(build),
        unprivileged: this.policy.required(build),
      };
      this.known.set(key, (shape = agentsFor(build, selector, requests(build), needs, this.agents)));
    }
    return shape;
  }
}

/** The agents a kind of build (selector, resources, limits) can go to, or why it must wait whatever the load. */
export type Shape =
  | { kind: 'wait'; reason: PendingReason; message: string }
  | {
      kind: 'open';
      selector: Record<string, string>;
      wanted: { cpuMillis: number; memoryBytes: number };
      open: AgentView[];
      openNames: ReadonlySet<string>;
    };

function agentsFor(
  build: Build,
  selector: Record<string, string>,
  wanted: { cpuMillis: number; memoryBytes: number },
  needs: { limited: boolean; ownDaemon: boolean; unprivileged: string | undefined },
  agents: AgentView[],
): Shape {
  const selected = agents.filter((a) => unmatchedSelector(selector, a.labels).length === 0);
  if (selected.length === 0)
    return {
      kind: 'wait',
      reason: 'NoMatchingAgent',
      message: build.spec.platform
        ? `no agent can build platform ${build.spec.platform} natively: ${noMatchMessage(selector, agents)}`
        : noMatchMessage(selector, agents),
    };
  const matched = needs.unprivileged ? selected.filter((a) => a.isolation === 'userns') : selected;
  if (matched.length === 0)
    return {
      kind: 'wait',
      reason: 'NoMatchingAgent',
      message: `${needs.unprivileged}; no agent that matches ${selectorText(selector)} runs builds in a user namespace (${isolationList(selected)})`,
    };
  const able = needs.limited ? matched.filter((a) => a.limitsDockerfileBuilds) : matched;
  if (able.length === 0)
    return {
      kind: 'wait',
      reason: 'NoMatchingAgent',
      message: `${matched.length} agent(s) match ${selectorText(selector)} but none can hold a Dockerfile build to its resources (${resourcesText(build)}): BuildKit on a shared Docker daemon ignores a build's limits; it needs an agent with the dind executor`,
    };
  const given = needs.ownDaemon ? able.filter((a) => a.daemonPerBuild) : able;
  if (given.length === 0)
    return {
      kind: 'wait',
      reason: 'NoMatchingAgent',
      message: `${able.length} agent(s) match ${selectorText(selector)} but none can give a build a Docker daemon of its own (strategy.custom.exposeDockerSocket): it needs an agent with the dind executor`,
    };
  const fitting = given.filter((a) => fits(a, NO_LOAD, wanted));
  if (fitting.length === 0)
    return {
      kind: 'wait',
      reason: 'NoMatchingAgent',
      message: `${given.length} agent(s) match ${selectorText(selector)} but none can hold the build's resources (${resourcesText(build)})`,
    };
  const open = fitting.filter((a) => !a.unschedulable);
  if (open.length === 0)
    return {
      kind: 'wait',
      reason: 'AgentDraining',
      message: `every agent that matches ${selectorText(selector)} takes no new builds: ${fitting.map((a) => `${a.name} (${a.unschedulable})`).join(', ')}`,
    };
  return { kind: 'open', selector, wanted, open, openNames: new Set(open.map((a) => a.name)) };
}

/**
 * Whether the build runs only on a daemon held to its resources as a whole: a Dockerfile build
 * (BuildKit, which ignores a build's own limits) with memory or cpu set. Source-to-Image's
 * containers take limits of their own on any daemon.
 */
export function needsLimitedDaemon(build: Build): boolean {
  const r = build.spec.config.resources;
  return build.spec.config.strategy.docker !== undefined && r !== undefined && (!!r.memory || !!r.cpu);
}

/** Whether the build is a custom builder given a Docker daemon of its own (exposeDockerSocket). */
export function needsOwnDaemon(build: Build): boolean {
  return build.spec.config.strategy.custom?.exposeDockerSocket === true;
}

/** Whether `agent`, with `load` on it, has room for one more build asking `wanted`. */
function fits(agent: AgentView, load: Load, wanted: { cpuMillis: number; memoryBytes: number }): boolean {
  if (load.slots + 1 > agent.capacity) return false;
  if (agent.cpuMillis !== undefined && load.cpuMillis + wanted.cpuMillis > agent.cpuMillis) return false;
  if (agent.memoryBytes !== undefined && load.memoryBytes + wanted.memoryBytes > agent.memoryBytes) return false;
  return true;
}

/**
 * Which agents hold which configs and base images warm (their warm lists, newest first), so that
 * a build's warmest agent is a lookup, not a scan of every agent's lists. Kept across passes by
 * the scheduler: `sync` redoes only the agents whose view changed (a new heartbeat).
 * Any config beats any image; among agents holding the same one, the most recent use, then the
 * agent synced first.
 */
export class WarmIndex {
  private readonly configs = new Map<string, Map<string, { agent: AgentView; score: number }>>();
  private readonly images = new Map<string, Map<string, { agent: AgentView; score: number }>>();
  private readonly synced = new Map<string, AgentView>();

  /** Makes the index hold exactly `agents`' warm lists. */
  sync(agents: AgentView[]): this {
    const seen = new Set<string>();
    for (const a of agents) {
      seen.add(a.name);
      const known = this.synced.get(a.name);
      if (known === a) continue;
      if (known) this.drop(known);
      this.synced.set(a.name, a);
      a.warmConfigs.forEach((config, i) => add(this.configs, config, a, 2000 - i));
      a.warmImages.forEach((image, j) => add(this.images, image, a, 1000 - j));
    }
    for (const [name, known] of this.synced) if (!seen.has(name)) this.drop(known);
    return this;
  }

  /** The agent among `among` holding the build's cache warmest: its config built there, else its base image pulled there. */
  warmest(build: Build, among: ReadonlySet<string>): { agent: AgentView; what: string } | undefined {
    const config = `${build.metadata.namespace}/${build.spec.configName}`;
    const byConfig = best(this.configs.get(config), among);
    if (byConfig) return { agent: byConfig, what: `config ${config}'s cache` };
    const strategy = build.spec.config.strategy;
    const image = strategy.source?.builderImage ?? strategy.custom?.image ?? strategy.docker?.from;
    const byImage = image ? best(this.images.get(image), among) : undefined;
    return byImage ? { agent: byImage, what: `base image ${image}` } : undefined;
  }

  private drop(agent: AgentView): void {
    this.synced.delete(agent.name);
    for (const config of agent.warmConfigs) remove(this.configs, config, agent.name);
    for (const image of agent.warmImages) remove(this.images, image, agent.name);
  }
}

type Holders = Map<string, Map<string, { agent: AgentView; score: number }>>;

function add(index: Holders, what: string, agent: AgentView, score: number): void {
  let holders = index.get(what);
  if (!holders) index.set(what, (holders = new Map()));
  // A list naming the same thing twice: its newest use counts.
  if (!holders.has(agent.name)) holders.set(agent.name, { agent, score });
}

function remove(index: Holders, what: string, agent: string): void {
  const holders = index.get(what);
  holders?.delete(agent);
  if (holders?.size === 0) index.delete(what);
}

function best(
  holders: Map<string, { agent: AgentView; score: number }> | undefined,
  among: ReadonlySet<string>,
): AgentView | undefined {
  let found: { agent: AgentView; score: number } | undefined;
  for (const e of holders?.values() ?? []) if (among.has(e.agent.name) && (!found || e.score > found.score)) found = e;
  return found?.agent;
}

/**
 * Of the agents with room, the least busy (slots used over capacity), then the one placed on
 * longest ago, then by name; undefined when none has room. One scan: placement runs on every dispatch.
 */
function leastLoaded(
  agents: AgentView[],
  hasRoom: (a: AgentView) => boolean,
  used: (agent: string) => Load,
  lastPlaced: { get(name: string): number | undefined },
): AgentView | undefined {
  // Runs for every placement over every matching agent: each agent's figures are looked up once.
  let best: AgentView | undefined;
  let bestBusy = 0;
  let bestLast = 0;
  for (const a of agents) {
    if (!hasRoom(a)) continue;
    const busy = used(a.name).slots / a.capacity;
    const last = lastPlaced.get(a.name) ?? -Infinity;
    // Less busy, then placed on longest ago (never: first), then by name.
    if (best && !((busy - bestBusy || last - bestLast || a.name.localeCompare(best.name)) < 0)) continue;
    best = a;
    bestBusy = busy;
    bestLast = last;
  }
  return best;
}

function selectorText(selector: Record<string, string>): string {
  return Object.keys(selector).length > 0 ? `nodeSelector ${formatLabels(selector)}` : 'the build (no nodeSelector)';
}

function noMatchMessage(selector: Record<string, string>, agents: AgentView[]): string {
  if (agents.length === 0) return 'no agent is connected';
  const shown = agents.slice(0, 5).map((a) => `${a.name} {${formatLabels(a.labels)}}`);
  const more = agents.length > shown.length ? `, and ${agents.length - shown.length} more` : '';
  return `no agent's node matches nodeSelector ${formatLabels(selector)} (${agents.length} agent(s): ${shown.join(', ')}${more})`;
}

/** Agents and what their builds are instead of unprivileged: "a (root on the node: host executor), b (…)". */
function isolationList(agents: AgentView[]): string {
  const shown = agents.slice(0, 5).map((a) => `${a.name}: ${ISOLATION_TEXT[a.isolation]}`);
  const more = agents.length > shown.length ? `, and ${agents.length - shown.length} more` : '';
  return `${shown.join(', ')}${more}`;
}

const ISOLATION_TEXT: Record<Isolation, string> = {
  userns: 'a user namespace',
  'host-root': "root on the node (the node's shared daemon)",
  'privileged-root': 'root on the node (a privileged private daemon, not remapped)',
  unknown: 'did not say (an older agent)',
};

/** "memory 64Mi, cpu 500m": the same order whichever API stored them, as the agent's messages. */
function resourcesText(build: Build): string {
  return formatResources(build.spec.config.resources ?? {});
}
