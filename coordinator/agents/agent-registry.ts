import type { JsonStore } from '../store/json-store.js';

/** What the coordinator knows of an agent: the latest heartbeat. */
export interface AgentRecord {
  agent: string;
  node: string;
  /** The agent process's run id: a new one means it restarted. */
  instance: string;
  /** `namespace/build/attempt` of what it runs. */
  running: string[];
  /**
   * The labels of its node, as it last advertised them (empty: it does not read its Node).
   * Claims are checked against the labels the claim carries; these are for placement (#12).
   */
  nodeLabels: Record<string, string>;
  /** Its node is cordoned, so it claims nothing new. */
  cordoned: boolean;
  /** Builds it runs at once at most; undefined: it did not say. */
  capacity?: number;
  /** What it holds warm and what its GC freed, as it last said. */
  cache?: AgentCacheFigures;
  /** What its node offers builds' resources; a figure not said is not counted. */
  allocatable?: { cpuMillis?: number; memoryBytes?: number };
  /** It is stopping: it finishes what it runs and claims nothing new. */
  draining?: boolean;
  /** Configs (`namespace/name`) it built and base images it pulled, newest first: placement's affinity. */
  warm?: { configs: string[]; images: string[] };
  /**
   * Its executor can hold a Dockerfile build to the build's resources (a daemon of the build's
   * own in a limited cgroup); absent: it cannot (the node's shared daemon, or an agent too old to say).
   */
  limitsDockerfileBuilds?: boolean;
  /**
   * Its executor can start a Docker daemon of a build's own, destroyed after it (dind): what a
   * custom builder's exposeDockerSocket needs; absent: it cannot, or is too old to say.
   */
  daemonPerBuild?: boolean;
  /**
   * What its builds' root is on the node (Isolation: `userns`, `host-root`, `privileged-root`);
   * absent: an agent too old to say, taken as not `userns`.
   */
  isolation?: string;
  /** When a coordinator received the heartbeat (coordinators' clocks are assumed in sync). */
  lastHeartbeat: string;
}

export interface AgentCacheFigures {
  imageBytes: number;
  gcReclaimedBytes: number;
  nodeCacheHits: number;
  nodeCacheMisses: number;
}

/** Agents' heartbeats, in a KV bucket keyed by agent name. */
export class AgentRegistry {
  constructor(
    private readonly store: JsonStore<AgentRecord>,
    private readonly clock: () => Date,
  ) {}

  async heartbeat(r: Omit<AgentRecord, 'lastHeartbeat'>): Promise<void> {
    const record: AgentRecord = { ...r, lastHeartbeat: this.clock().toISOString() };
    // A heartbeat replaces whatever was there; the loop only settles who wrote last.
    const updated = await this.store.mutate(r.agent, () => record);
    if (!updated) {
      try {
        await this.store.create(r.agent, record);
      } catch {
        await this.store.mutate(r.agent, () => record);
      }
    }
  }

  async get(agent: string): Promise<AgentRecord | undefined> {
    return (await this.store.get(agent))?.value;
  }

  /** Every agent's latest record, by name; agents that stopped stay until a heartbeat replaces them. */
  async list(): Promise<AgentRecord[]> {
    const items = await this.store.list();
    return items.map((i) => i.value).sort((a, b) => a.agent.localeCompare(b.agent));
  }
}
