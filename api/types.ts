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
  /**
   * Whether the repository's submodules are checked out too (recursively, relative URLs
   * resolved against `uri`; the source secret is sent only to the host of `uri`).
   * Undefined: true.
   */
  submodules?: boolean;
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
  /**
   * Paths copied out of other images into the build's context (OpenShift's `source.images`),
   * after the git source is checked out or the upload unpacked; with neither, into an empty
   * context. Undefined: none. At most MAX_SOURCE_IMAGES images of MAX_SOURCE_IMAGE_PATHS paths.
   */
  images?: ImageSource[];
}

export const MAX_SOURCE_IMAGES = 16;
export const MAX_SOURCE_IMAGE_PATHS = 32;

/**
 * An image whose paths are copied into the build's context. A tag is resolved to a digest at the
 * start of the build's first attempt and recorded in `status.sourceImages`; every later attempt
 * of the build copies from that digest.
 */
export interface ImageSource {
  /** registry/repository[:tag] (default tag latest), or …@sha256:… */
  from: string;
  /** A docker-registry secret of the build's namespace for pulling it. */
  pullSecret?: { name: string };
  paths: ImageSourcePath[];
}

export interface ImageSourcePath {
  /**
   * Absolute path in the image. A file is copied as that file, a folder as that folder (with
   * its name); a path ending in `/.` copies the folder's contents.
   */
  sourcePath: string;
  /** Folder in the build's context it goes into: relative, no "..". Undefined: the context's root. */
  destinationDir?: string;
}

/** A source image's tag as resolved for a build (status.sourceImages). */
export interface SourceImageDigest {
  /** As `source.images[].from` names it. */
  from: string;
  /** The manifest digest copied from: sha256:… */
  digest: string;
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
  /** BuildKit build secrets, each an opaque secret of the build's namespace; undefined: none. */
  secrets?: BuildSecret[];
}

/** Most build secrets a Docker strategy may name. */
export const MAX_BUILD_SECRETS = 32;

/**
 * A build secret: the `RUN --mount=type=secret,id=<id>` steps of the Dockerfile read the value
 * of the opaque secret `secret.name` (at /run/secrets/<id> unless the mount gives a target). The
 * value never lands in a layer, the image's history, the log or the build's status. A Dockerfile
 * that mounts an id not listed fails the build (UnknownBuildSecret); a listed secret that does
 * not exist when the build runs fails it too (MissingBuildSecret).
 */
export interface BuildSecret {
  /** Letters, digits, '.', '_', '-'; at most 128 characters; unique in the list. */
  id: string;
  secret: { name: string };
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

/**
 * A builder image of the user's own (OpenShift's customStrategy): it gets the build's
 * description in SLIPWAY_* variables and the source at /workspace/source, and pushes the output
 * image itself; its exit code decides the build. See docs/design/build-strategies.md.
 */
export interface CustomStrategy {
  image: string;
  /** More environment of the builder; names SLIPWAY_* are the agent's own and refused. */
  env?: NameValue[];
  /**
   * Give the builder the build's own Docker daemon (DOCKER_HOST, its socket mounted): only on an
   * agent whose executor starts a private daemon per build; elsewhere the build fails
   * DockerSocketNotPrivate rather than hand over a daemon other builds use.
   */
  exposeDockerSocket?: boolean;
  /** Pull the builder image even when the daemon has it. */
  forcePull?: boolean;
  /** A docker-registry secret for pulling the builder image. */
  pullSecret?: { name: string };
  /**
   * Opaque secrets the builder reads as files, /slipway/secrets/<id> (SLIPWAY_SECRETS_DIR); the
   * same ids and limits as the Docker strategy's build secrets. Undefined: none.
   */
  secrets?: BuildSecret[];
}

/** Exactly one of the strategies is set. */
export interface BuildStrategy {
  docker?: DockerStrategy;
  source?: SourceStrategy;
  custom?: CustomStrategy;
}

export interface BuildOutput {
  /** registry/repository:tag */
  image: string;
  pushSecret?: { name: string };
  /**
   * Platforms to build natively (os/arch[/variant], api/platforms.ts), each by a build of its own
   * on an agent whose node has that kubernetes.io/arch and os, pushed by digest; once all are
   * pushed, an OCI image index naming them is pushed to `image`. Docker strategy only. Undefined:
   * the node's own platform, one image.
   */
  platforms?: string[];
}

export interface ResourceLimits {
  /** Kubernetes quantity, e.g. "500m", "2". */
  cpu?: string;
  /** Kubernetes quantity, e.g. "512Mi". */
  memory?: string;
}

/** How much of the node a build's RUN steps may be. */
export interface BuildSecurity {
  /**
   * The build runs only on an agent whose builds run in a user namespace (isolation `userns`:
   * root in a RUN step is an unprivileged uid of the node's subordinate range). With no such
   * agent it waits (NoMatchingAgent, saying so); an agent that gets it anyway fails it
   * (UnprivilegedRequired). A namespace can ask the same of all its builds
   * (SLIPWAY_UNPRIVILEGED_NAMESPACES). Undefined or false: any agent.
   */
  unprivileged?: boolean;
}

export interface BuildConfigSpec {
  source: BuildSource;
  strategy: BuildStrategy;
  output: BuildOutput;
  resources?: ResourceLimits;
  /** A Running build past this many seconds is stopped; undefined: no deadline. */
  completionDeadlineSeconds?: number;
  /**
   * A build not placed on an agent this many seconds after it was queued fails, with the reason
   * it waited for; undefined: it waits as long as it takes.
   */
  pendingDeadlineSeconds?: number;
  /** New attempts allowed when an attempt is lost with its agent; undefined: none. */
  retries?: number;
  /**
   * Labels the node of the agent that runs the build must have (all of them, values equal);
   * undefined: any agent. Agents learn their node's labels from the Kubernetes API.
   */
  nodeSelector?: Record<string, string>;
  /** What starts builds of this config besides a client's StartBuild (coordinator/triggers/). */
  triggers?: BuildTrigger[];
  /** What the build may be on its node; undefined: anything its agent allows. */
  security?: BuildSecurity;
  /** How builds of this config may overlap; undefined: Parallel. */
  runPolicy?: RunPolicy;
  /** Complete builds kept (oldest pruned first, with their logs); undefined: all. */
  successfulBuildsHistoryLimit?: number;
  /** Failed, Error and Cancelled builds kept (oldest pruned first, with their logs); undefined: all. */
  failedBuildsHistoryLimit?: number;
}

export const RUN_POLICIES = ['Parallel', 'Serial', 'SerialLatestOnly'] as const;
/**
 * Parallel: builds run as soon as they can. Serial: one at a time, in creation order.
 * SerialLatestOnly: one at a time; when one may start, older queued builds of the config end
 * Cancelled with reason Superseded and only the newest runs.
 */
export type RunPolicy = (typeof RUN_POLICIES)[number];

/** The triggers a push webhook fires (coordinator/triggers/): Gitea also serves Forgejo. */
export const WEBHOOK_TRIGGER_TYPES = ['GitHub', 'GitLab', 'Bitbucket', 'Gitea', 'Generic'] as const;
export type WebhookTriggerType = (typeof WEBHOOK_TRIGGER_TYPES)[number];

export const TRIGGER_TYPES = [...WEBHOOK_TRIGGER_TYPES, 'ImageChange', 'ConfigChange'] as const;
export type BuildTriggerType = (typeof TRIGGER_TYPES)[number];

/** Whether a trigger of this type is a webhook (it names a webhook secret). */
export function isWebhookTrigger(type: string): type is WebhookTriggerType {
  return (WEBHOOK_TRIGGER_TYPES as readonly string[]).includes(type);
}

/**
 * One way builds of a config start themselves. Webhooks (GitHub, GitLab, Bitbucket, Gitea, Generic) name a
 * `webhook` secret whose value signs or authenticates the delivery; the secret's value never
 * appears in the config, a build, a log or an error.
 */
export interface BuildTrigger {
  type: BuildTriggerType;
  /** Webhooks: the webhook secret (a Secret of type webhook in the config's namespace). */
  secret?: { name: string };
  /**
   * ImageChange: the image whose new digests start builds; undefined: the strategy's image
   * (docker.from, or source.builderImage).
   */
  imageChange?: { from?: string };
}

/** What a BuildConfig's triggers have already acted on; each is updated in the same compare-and-set that numbers the build it starts. */
export interface BuildConfigStatus {
  /** Number of the newest build started from this config. */
  lastVersion: number;
  /** The generation a ConfigChange trigger last started a build for. */
  lastTriggeredGeneration?: number;
  /** Per watched image, the digest an ImageChange trigger last saw (and built for, when it was a change). */
  imageTriggers?: { from: string; lastDigest: string }[];
  /**
   * Webhook deliveries that started builds, oldest first, at most MAX_WEBHOOK_DELIVERIES (the
   * oldest are dropped). A delivery whose id is here starts no second build.
   */
  webhookDeliveries?: WebhookDelivery[];
  /**
   * Triggered builds whose number is taken but which may not exist yet: recorded in the
   * compare-and-set that numbers them, dropped once they exist (coordinator/builds/pending-builds.ts).
   */
  pendingBuilds?: PendingBuild[];
  /**
   * Serial and SerialLatestOnly: the build the run policy last let leave New, taken by
   * compare-and-set on this record (coordinator/build-controller/run-slot.ts), so that
   * coordinators whose views differ still start one build of the config at a time. It is not
   * cleared when that build ends: the next build takes it over once it has.
   */
  runSlot?: { build: string; number: number };
}

export const MAX_PENDING_BUILDS = 50;

/** A build a trigger started, from its number being taken until the build exists. */
export interface PendingBuild {
  number: number;
  /** The uid the build gets, so whoever creates it can tell it is this one. */
  uid: string;
  reservedAt: string;
  /** What the trigger asked for, to make the build from. */
  request: { ref?: string; image?: string; pinImage?: { image: string; digest: string }; cause?: BuildCause };
}

export const MAX_WEBHOOK_DELIVERIES = 100;

/** A webhook delivery that started a build (coordinator/triggers/webhooks.ts). */
export interface WebhookDelivery {
  /** The webhook trigger that received it. */
  type: WebhookTriggerType;
  /** The sender's id for the delivery (X-GitHub-Delivery, Idempotency-Key…); the same on a redelivery. */
  id: string;
  /** The number the build it started was given. */
  version: number;
  timestamp: string;
}

export interface BuildConfig {
  metadata: ObjectMeta;
  spec: BuildConfigSpec;
  status: BuildConfigStatus;
}

export const BUILD_CAUSE_TYPES = ['Manual', ...TRIGGER_TYPES] as const;
export type BuildCauseType = (typeof BUILD_CAUSE_TYPES)[number];

/** Why a build was started (OpenShift's spec.triggeredBy). */
export interface BuildCause {
  type: BuildCauseType;
  /** One line for people, e.g. "GitHub push of refs/heads/main at 1a2b3c4". */
  message: string;
  /** Webhook causes: what was pushed. */
  git?: { ref?: string; commit?: string; deliveryId?: string };
  /** ImageChange: the image and its new digest. */
  imageChange?: { image: string; digest: string };
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
  /** Why it was started; undefined on builds stored before causes were recorded (read as Manual). */
  triggeredBy?: BuildCause[];
  /**
   * A platform build (coordinator/builds/platform-builds.ts): the one platform it makes, pushed
   * by digest, never to the output tag; undefined for every other build.
   */
  platform?: string;
  /** A platform build: the build of several platforms it is part of. */
  parent?: string;
}

export const BUILD_STAGE_NAMES = ['FetchInputs', 'PullImages', 'Build', 'PushImage'] as const;
export type BuildStageName = (typeof BUILD_STAGE_NAMES)[number];

/** One stage of an attempt, as its agent timed it. */
export interface BuildStage {
  name: BuildStageName;
  startTimestamp: string;
  durationMs: number;
}

/** The stage that took longest (the first of equals); undefined when there are none. */
export function longestStage<S extends { durationMs: number }>(stages: readonly S[] | undefined): S | undefined {
  return stages?.reduce<S | undefined>((a, b) => (a === undefined || b.durationMs > a.durationMs ? b : a), undefined);
}

/** Something that happened to a build, for people (Kubernetes' Event, kept on the build). */
export interface BuildEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase: Scheduled, Started, Pushed, Complete, Failed, Cancelled, Superseded, Retrying… */
  reason: string;
  message: string;
  timestamp: string;
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
  /** When the attempt's job was put on the work queue (last requeued). */
  queuedTimestamp?: string;
  /** While Pending: the agent the attempt is placed on (placement/), which has not claimed it yet. */
  placement?: Placement;
  /** Placements of the current attempt so far: the job copy's number (see jobMessageId). */
  placements?: number;
  startTimestamp?: string;
  completionTimestamp?: string;
  exitCode?: number;
  output?: { image: string; digest: string };
  commit?: string;
  /** A cancel was asked for while Running; the agent is stopping the build. */
  cancelRequested?: boolean;
  /** Lines in the final attempt's log, as its agent reported. */
  logLines?: number;
  /** The final attempt's stages, as its agent reported them. */
  stages?: BuildStage[];
  /** On failure: the last lines of the log, secrets masked. */
  logSnippet?: string;
  /** What happened, oldest first; at most MAX_BUILD_EVENTS (the oldest are dropped). */
  events?: BuildEvent[];
  /**
   * How the attempt before the current one ended, when it was handed back or lost with its agent
   * and the build got a new attempt (coordinator/builds/transitions.ts, loseAttempt); undefined
   * for a first attempt. Kept while later attempts wait, run and end, so `reason` can say why the
   * build waits (a placement's PendingReason) while this still says what happened before.
   */
  previousAttempt?: PreviousAttempt;
  /**
   * The digests `spec.config.source.images` were resolved to at the start of the first attempt
   * that got that far, in their order; kept for every later attempt, which copies from them.
   */
  sourceImages?: SourceImageDigest[];
  /**
   * A build of several platforms (spec.config.output.platforms): each platform's build as last
   * seen, in the config's order. Such a build has no attempt or agent of its own; `output` is the
   * image index pushed once every platform's build completed.
   */
  platforms?: PlatformBuildStatus[];
  /**
   * A build of several platforms whose platforms all completed: the coordinator pushing its
   * index, so that one does (internal; taken over when it is old).
   */
  indexPush?: { coordinator: string; timestamp: string };
}

/** One platform of a build of several, as its platform build stands. */
export interface PlatformBuildStatus {
  platform: string;
  /** The platform build's name. */
  build: string;
  phase: BuildPhase;
  reason?: string;
  message?: string;
  /** The platform image's manifest digest, once pushed. */
  digest?: string;
  agent?: string;
  node?: string;
  stages?: BuildStage[];
}

/** An attempt that ended without ending its build: the build was given a new attempt. */
export interface PreviousAttempt {
  attempt: number;
  /** A retryable reason (RETRYABLE_REASONS): AgentShutdown or AgentLost. */
  reason: string;
  message: string;
  /** The agent and node that held it; undefined when it was never claimed. */
  agent?: string;
  node?: string;
  /** When it was handed back or found lost. */
  completionTimestamp: string;
}

export interface Placement {
  agent: string;
  node: string;
  /** When it was placed: unclaimed for long, it is placed again. */
  timestamp: string;
}

/**
 * Why a Pending build is not placed yet (status.reason while it waits), as placement decides:
 * no live agent's node matches its nodeSelector (or can hold its resources; for a Dockerfile
 * build with resources, hold it to them: a dind agent); the matching ones are full; its push secret does not exist; the matching agents are all stopping or cordoned.
 */
export const PENDING_REASONS = ['NoMatchingAgent', 'WaitingForCapacity', 'MissingPushSecret', 'AgentDraining'] as const;
export type PendingReason = (typeof PENDING_REASONS)[number];

export const MAX_BUILD_EVENTS = 30;

/** Most UTF-8 bytes of BuildStatus.logSnippet (agents send the last ~20 lines within it). */
export const MAX_LOG_SNIPPET_BYTES = 4096;

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
