import { BuildNotFoundError } from '../../common/errors.js';
import { objectKey } from '../../common/nats/names.js';
import { claimInstance } from '../agents/agent-leases.js';
import type { AgentCacheFigures, AgentRecord, AgentRegistry } from '../agents/agent-registry.js';
import { isTerminal, type Build, type SourceImageDigest, type Versioned } from '../../api/types.js';
import type { RegistrySecret, SecretStore } from '../secrets/secret-store.js';
import type { BuildCache } from '../store/build-cache.js';
import type { StateStore } from '../store/state-store.js';
import { claim, finish, recordSourceImages, type Claim, type Outcome } from './transitions.js';
import { isNatsUnavailable } from '../../common/grpc/status.js';
import { IGNORE_TRANSITIONS, type TransitionObserver } from './transition-observer.js';
import type { BuildJob } from '../../common/nats/names.js';
import type { UnclaimedPlacements } from '../placement/unclaimed-placements.js';

export interface Heartbeat {
  agent: string;
  node: string;
  instance: string;
  running: BuildRef[];
  /** The labels of the agent's node, as the agent reads them from the Kubernetes API. */
  nodeLabels: Record<string, string>;
  /** The agent's node is cordoned: it claims nothing new. */
  cordoned: boolean;
  capacity?: number;
  cache?: AgentCacheFigures;
  allocatable?: AgentRecord['allocatable'];
  draining?: boolean;
  warm?: AgentRecord['warm'];
  limitsDockerfileBuilds?: boolean;
  /** Its executor starts a daemon of a build's own on demand (AgentRecord.daemonPerBuild). */
  daemonPerBuild?: boolean;
  /** What its builds' root is on the node (AgentRecord.isolation); empty or absent: not said. */
  isolation?: string;
}

/** What a heartbeat's answer tells the agent: attempts to stop, placements to claim. */
export interface HeartbeatAnswer {
  stop: StopOrder[];
  /** Attempts placed on the agent and unclaimed for a while (UnclaimedPlacements): to claim now. */
  unclaimed: BuildJob[];
}

/** An attempt the agent must stop: cancelled by a user, or no longer the agent's. */
export interface StopOrder {
  build: BuildRef;
  why: 'Cancelled' | 'Lost';
}

/** A build secret as the claim hands it over: the opaque secret's value, or the type of a secret that is not opaque. */
export interface HandedBuildSecret {
  id: string;
  value?: Buffer;
  wrongType?: string;
}

export interface BuildRef {
  namespace: string;
  name: string;
  attempt: number;
}

/**
 * Applies what agents report. Each report is fenced by attempt and agent (transitions.ts): a
 * report about an attempt that is not current, or from an agent that does not own it, is
 * refused and changes nothing.
 */
export class AgentReports {
  constructor(
    private readonly store: StateStore,
    private readonly agents: AgentRegistry,
    private readonly secrets: SecretStore,
    private readonly clock: () => Date = () => new Date(),
    /** Told of the claims and outcomes these reports apply, once each. */
    private readonly observer: TransitionObserver = IGNORE_TRANSITIONS,
    /**
     * Called when a heartbeat could not be recorded because NATS did not answer (the agents
     * bucket electing a leader on a cluster): the lease grace must start again, as after a
     * reconnect, or the agents whose heartbeats were lost meanwhile would be judged silent.
     */
    private readonly heartbeatsUnrecorded: () => void = () => {},
    /**
     * The coordinator's watch cache of builds: reports are written at the revision it holds
     * (no read first), and a heartbeat's attempts are checked against it. Undefined: the store
     * is read each time.
     */
    private readonly cache?: Pick<BuildCache, 'get' | 'isStale' | 'mutate'>,
    /**
     * The placements agents have not claimed, and how old one must be before its agent's
     * heartbeat answer names it. Undefined: answers name none (agents claim from the work queue only).
     */
    private readonly reminders?: { placements: Pick<UnclaimedPlacements, 'due'>; afterMs: number },
  ) {}

  /**
   * Makes the attempt this agent's, and hands over the credentials of the push, source and pull
   * secrets and the values of the build secrets the build names, those that exist (the agent
   * fails the build when one is missing).
   * @throws StaleAttemptError, BuildAlreadyTerminalError, BuildNotFoundError, NodeSelectorMismatchError
   */
  async claim(
    ref: BuildRef,
    c: Omit<Claim, 'attempt'>,
  ): Promise<{
    build: Versioned<Build>;
    pushCredentials?: RegistrySecret;
    sourceCredentials?: RegistrySecret;
    pullCredentials?: RegistrySecret;
    /** The build secrets whose secrets exist, by id (strategy.docker.secrets). */
    buildSecrets: HandedBuildSecret[];
    /** The pull secrets source.images name that exist, by name (each once). */
    sourceImageCredentials: { name: string; credentials: RegistrySecret }[];
  }> {
    let changed = false;
    const build = await this.apply(ref, (b) => {
      const next = claim(b, { ...c, attempt: ref.attempt }, this.clock());
      // A repeated claim (its first answer lost) changes nothing and is not a second start.
      changed = next !== undefined;
      return next;
    });
    if (changed) this.observer.started(build.value);
    const { output, source, strategy } = build.value.spec.config;
    const reveal = (name: string | undefined) => (name ? this.secrets.reveal(ref.namespace, name) : undefined);
    return {
      build,
      pushCredentials: await reveal(output.pushSecret?.name),
      sourceCredentials: await reveal(source.sourceSecret?.name),
      pullCredentials: await reveal((strategy.docker ?? strategy.source ?? strategy.custom)?.pullSecret?.name),
      buildSecrets: await this.buildSecrets(ref.namespace, (strategy.docker ?? strategy.custom)?.secrets ?? []),
      sourceImageCredentials: await this.sourceImageCredentials(ref.namespace, source.images ?? []),
    };
  }

  /** The pull secrets of the source images, each once; one that does not exist is left out (the agent fails the build). */
  private async sourceImageCredentials(
    namespace: string,
    images: { pullSecret?: { name: string } }[],
  ): Promise<{ name: string; credentials: RegistrySecret }[]> {
    const names = [...new Set(images.flatMap((i) => (i.pullSecret ? [i.pullSecret.name] : [])))];
    const out: { name: string; credentials: RegistrySecret }[] = [];
    for (const name of names) {
      const credentials = await this.secrets.reveal(namespace, name);
      if (credentials) out.push({ name, credentials });
    }
    return out;
  }

  /**
   * Records the digests the attempt resolved its source images to, unless an earlier attempt
   * recorded them (see transitions.ts, recordSourceImages); the answer holds those to use.
   * @throws StaleAttemptError, BuildAlreadyTerminalError, BuildNotFoundError, InvalidInputError
   */
  async recordSourceImages(
    ref: BuildRef,
    r: { agent: string; images: SourceImageDigest[] },
  ): Promise<Versioned<Build>> {
    return this.apply(ref, (b) => recordSourceImages(b, { ...r, attempt: ref.attempt }, this.clock()));
  }

  /**
   * Each build secret's value, by id; a secret of another type only says its type, and one that
   * does not exist is left out: the agent fails the build, naming it.
   */
  private async buildSecrets(
    namespace: string,
    secrets: { id: string; secret: { name: string } }[],
  ): Promise<HandedBuildSecret[]> {
    const out: HandedBuildSecret[] = [];
    for (const { id, secret } of secrets) {
      const found = await this.secrets.revealBuildSecret(namespace, secret.name);
      if (found) out.push({ id, ...found });
    }
    return out;
  }

  /**
   * Records the heartbeat and answers which of the attempts the agent runs it must stop: those
   * cancelled, and those no longer its own (finished, given to a new attempt, or claimed by an
   * earlier run of the agent).
   */
  /**
   * Records the heartbeat, and answers with the attempts the agent must stop and those placed on
   * it that it has not claimed (a draining or cordoned agent is named none).
   */
  async heartbeat(h: Heartbeat): Promise<HeartbeatAnswer> {
    await this.recordHeartbeat(h);
    const orders: StopOrder[] = [];
    for (const ref of h.running) {
      const key = objectKey(ref.namespace, ref.name);
      const held = this.cache?.isStale(key) ? undefined : this.cache?.get(key);
      let b = held ? held.value : (await this.store.builds.get(key))?.value;
      // A replica behind may not show the claim yet: an attempt is stopped as lost only on the latest revision.
      if (!owns(b, ref, h)) b = (await this.store.builds.getLatest(key))?.value;
      if (!owns(b, ref, h)) orders.push({ build: ref, why: 'Lost' });
      else if (b.status.cancelRequested) orders.push({ build: ref, why: 'Cancelled' });
    }
    const r = this.reminders;
    const unclaimed =
      r && !h.draining && !h.cordoned ? r.placements.due(h.agent, this.clock().getTime(), r.afterMs) : [];
    return { stop: orders, unclaimed };
  }

  private async recordHeartbeat(h: Heartbeat): Promise<void> {
    try {
      await this.agents.heartbeat({
        agent: h.agent,
        node: h.node,
        instance: h.instance,
        running: h.running.map((r) => `${r.namespace}/${r.name}/${r.attempt}`),
        nodeLabels: h.nodeLabels,
        cordoned: h.cordoned,
        ...(h.capacity ? { capacity: h.capacity } : {}),
        ...(h.cache ? { cache: h.cache } : {}),
        ...(h.allocatable ? { allocatable: h.allocatable } : {}),
        ...(h.draining ? { draining: true } : {}),
        ...(h.warm ? { warm: h.warm } : {}),
        ...(h.limitsDockerfileBuilds ? { limitsDockerfileBuilds: true } : {}),
        ...(h.daemonPerBuild ? { daemonPerBuild: true } : {}),
        ...(h.isolation ? { isolation: h.isolation } : {}),
      });
    } catch (err) {
      if (isNatsUnavailable(err)) this.heartbeatsUnrecorded();
      throw err;
    }
  }

  /** @throws StaleAttemptError, BuildAlreadyTerminalError, BuildNotFoundError */
  async finish(ref: BuildRef, outcome: Omit<Outcome, 'attempt'>): Promise<Versioned<Build>> {
    let changed = false;
    const build = await this.apply(ref, (b) => {
      const next = finish(b, { ...outcome, attempt: ref.attempt }, this.clock());
      // The report that ended the build, repeated (its answer lost), changes nothing and is not a second end.
      changed = next !== undefined;
      return next;
    });
    // A lost attempt with retries left goes back to Pending: not an end either.
    if (changed && isTerminal(build.value.status.phase)) this.observer.finished(build.value);
    return build;
  }

  private async apply(ref: BuildRef, step: (b: Build) => Build | undefined): Promise<Versioned<Build>> {
    const key = objectKey(ref.namespace, ref.name);
    const result = this.cache ? await this.cache.mutate(key, step) : await this.store.builds.mutate(key, step);
    if (!result) throw new BuildNotFoundError(`${ref.namespace}/${ref.name}`);
    return result;
  }
}

/** Whether the build's current attempt is `ref`'s, claimed by this run of the heartbeating agent. */
function owns(b: Build | undefined, ref: BuildRef, h: Heartbeat): b is Build {
  return (
    !!b &&
    !isTerminal(b.status.phase) &&
    b.status.attempt === ref.attempt &&
    b.status.agent === h.agent &&
    claimInstance(b.status.claimId) === h.instance
  );
}
