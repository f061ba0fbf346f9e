/**
 * Slipway's resources as they are stored and reasoned about. The gRPC messages mirror these
 * (coordinator/grpc/convert.ts); the KV store holds them as JSON.
 */

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  creationTimestamp: string;
  /** Bumped on every spec change. */
  generation: number;
  labels?: Record<string, string>;
  /** Kept as given; only the Kubernetes API sets them (kubectl apply keeps its last-applied configuration here). */
  annotations?: Record<string, string>;
}

export interface GitSource {
  uri: string;
  /** Branch, tag or full commit id; undefined: the remote's default branch. */
  ref?: string;
}

export interface BuildSource {
  /** Where the context comes from; may be left out when an inline `dockerfile` is given. */
  git?: GitSource;
  /** Folder inside the source used as the build context; undefined: the root. */
  contextDir?: string;
  /** An inline Dockerfile, used instead of one in the source. */
  dockerfile?: string;
  /** A basic-auth secret for fetching the git source over HTTP(S). */
  sourceSecret?: { name: string };
  /**
   * On a BuildConfig: `{}` when its builds take an uploaded context. On a Build: the context
   * uploaded for it (it replaces the git source).
   */
  binary?: BinarySource;
}

export interface BinarySource {
  object?: string;
  sha256?: string;
  size?: number;
}

export interface NameValue {
  name: string;
  value: string;
}

export interface DockerStrategy {
  /** Relative to the context; default "Dockerfile". */
  dockerfilePath?: string;
  buildArgs?: NameValue[];
  noCache?: boolean;
  /** Environment of the last stage, added as ENV right after its FROM. */
  env?: NameValue[];
  /** Stage to build in a multi-stage Dockerfile; undefined: the last. */
  target?: string;
  /** Pull base images even when the daemon has them. */
  forcePull?: boolean;
  /** Replaces the image of the Dockerfile's last FROM. */
  from?: string;
  /** A docker-registry secret for pulling the base images. */
  pullSecret?: { name: string };
}

/** Source-to-Image: the builder image's assemble script turns the source into the image. */
export interface SourceStrategy {
  builderImage: string;
  /** image:///path of the s2i scripts in the builder; undefined: its io.openshift.s2i.scripts-url label. */
  scriptsUrl?: string;
  env?: NameValue[];
  /** Reuse the previous output image's artifacts (save-artifacts). */
  incremental?: boolean;
  forcePull?: boolean;
  /** A docker-registry secret for pulling the builder image. */
  pullSecret?: { name: string };
}

/** Exactly one of the strategies is set. */
export interface BuildStrategy {
  docker?: DockerStrategy;
  source?: SourceStrategy;
}

export interface BuildOutput {
  /** registry/repository:tag */
  image: string;
  pushSecret?: { name: string };
}

export interface ResourceLimits {
  /** Kubernetes quantity, e.g. "500m", "2". */
  cpu?: string;
  /** Kubernetes quantity, e.g. "512Mi". */
  memory?: string;
}

export interface BuildConfigSpec {
  source: BuildSource;
  strategy: BuildStrategy;
  output: BuildOutput;
  resources?: ResourceLimits;
  /** A Running build past this many seconds is stopped; undefined: no deadline. */
  completionDeadlineSeconds?: number;
  /** New attempts allowed when an attempt is lost with its agent; undefined: none. */
  retries?: number;
  /**
   * Labels the node of the agent that runs the build must have (all of them, values equal);
   * undefined: any agent. Agents learn their node's labels from the Kubernetes API.
   */
  nodeSelector?: Record<string, string>;
}

export interface BuildConfig {
  metadata: ObjectMeta;
  spec: BuildConfigSpec;
  status: { lastVersion: number };
}

export const BUILD_PHASES = ['New', 'Pending', 'Running', 'Complete', 'Failed', 'Error', 'Cancelled'] as const;
export type BuildPhase = (typeof BUILD_PHASES)[number];
export const TERMINAL_PHASES: ReadonlySet<BuildPhase> = new Set(['Complete', 'Failed', 'Error', 'Cancelled']);

export function isTerminal(phase: BuildPhase): boolean {
  return TERMINAL_PHASES.has(phase);
}

export interface BuildSpec {
  configName: string;
  configGeneration: number;
  /** Frozen copy of the config's spec when the build was started, overrides applied. */
  config: BuildConfigSpec;
}

export interface BuildStatus {
  phase: BuildPhase;
  /** Stable CamelCase reason for the phase (see agent/build-reasons.ts). */
  reason?: string;
  message?: string;
  /** 0 until the build controller assigns the first attempt. */
  attempt: number;
  agent?: string;
  node?: string;
  /** Which delivery of the job on which run of the agent holds the attempt (see claim). */
  claimId?: string;
  /** When the attempt's job was put on the work queue. */
  queuedTimestamp?: string;
  startTimestamp?: string;
  completionTimestamp?: string;
  exitCode?: number;
  output?: { image: string; digest: string };
  commit?: string;
  /** A cancel was asked for while Running; the agent is stopping the build. */
  cancelRequested?: boolean;
  /** Lines in the final attempt's log, as its agent reported. */
  logLines?: number;
}

export interface Build {
  metadata: ObjectMeta & { labels: { 'slipway.dev/buildconfig': string } & Record<string, string> };
  spec: BuildSpec;
  status: BuildStatus;
}

/** An object read from the store, with the revision a compare-and-set must name. */
export interface Versioned<T> {
  value: T;
  revision: number;
}

export const DEFAULT_NAMESPACE = 'default';
