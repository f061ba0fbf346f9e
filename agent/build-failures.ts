import { SlipwayError } from '../common/errors.js';

/**
 * Why a build did not complete, one class per cause. `reason` goes into the Build's status
 * as it is; `phase` is Failed when the build's own inputs are at fault (a bad ref, a failing
 * RUN step, a registry that refuses the push), Error when Slipway or the node is, and
 * Cancelled when a user stopped it.
 */
export abstract class BuildFailure extends SlipwayError {
  abstract readonly phase: 'Failed' | 'Error' | 'Cancelled';
  /** The exit code of the step that failed, when there is one. */
  readonly exitCode?: number;
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.exitCode = options?.exitCode;
  }
}

/** The git ref (branch, tag or commit) does not exist in the repository. */
export class InvalidGitRefError extends BuildFailure {
  readonly reason = 'InvalidGitRef';
  readonly phase = 'Failed';
}

/** The git server could not be reached (no such host, connection refused, timed out). */
export class GitSourceUnreachableError extends BuildFailure {
  readonly reason = 'GitSourceUnreachable';
  readonly phase = 'Failed';
}

/** The git server wants credentials the build did not have, or refused the ones it had. */
export class GitAuthenticationFailedError extends BuildFailure {
  readonly reason = 'GitAuthenticationFailed';
  readonly phase = 'Failed';
}

/** The config names a pull secret that does not exist. */
export class MissingPullSecretError extends BuildFailure {
  readonly reason = 'MissingPullSecret';
  readonly phase = 'Failed';
}

/** The config names a source secret that does not exist. */
export class MissingSourceSecretError extends BuildFailure {
  readonly reason = 'MissingSourceSecret';
  readonly phase = 'Failed';
}

/** The config names a build secret (strategy.docker.secrets) whose secret does not exist. */
export class MissingBuildSecretError extends BuildFailure {
  readonly reason = 'MissingBuildSecret';
  readonly phase = 'Failed';
}

/** The config names a build secret whose secret exists but is not opaque (its contents are not handed over). */
export class WrongBuildSecretTypeError extends BuildFailure {
  readonly reason = 'WrongBuildSecretType';
  readonly phase = 'Failed';
}

/** The Dockerfile mounts a secret id (RUN --mount=type=secret) that strategy.docker.secrets does not declare. */
export class UnknownBuildSecretError extends BuildFailure {
  readonly reason = 'UnknownBuildSecret';
  readonly phase = 'Failed';
}

/** A source image (source.images[].from) names a pull secret that does not exist. */
export class MissingSourceImagePullSecretError extends BuildFailure {
  readonly reason = 'MissingSourceImagePullSecret';
  readonly phase = 'Failed';
}

/** A source image (source.images[].from) is not in its registry: no such repository, tag or digest. */
export class SourceImageNotFoundError extends BuildFailure {
  readonly reason = 'SourceImageNotFound';
  readonly phase = 'Failed';
}

/** The registry of a source image refused it for want of (right) credentials: no pull secret, or a wrong one. */
export class SourceImageAuthFailedError extends BuildFailure {
  readonly reason = 'SourceImageAuthFailed';
  readonly phase = 'Failed';
}

/** A source image could not be resolved or pulled for another cause (its registry unreachable, a bad answer). */
export class SourceImagePullFailedError extends BuildFailure {
  readonly reason = 'SourceImagePullFailed';
  readonly phase = 'Failed';
}

/** A path to copy out of a source image (source.images[].paths[].sourcePath) is not in the image. */
export class SourceImagePathNotFoundError extends BuildFailure {
  readonly reason = 'SourceImagePathNotFound';
  readonly phase = 'Failed';
}

/**
 * What a source image's path holds cannot go where source.images[].paths[].destinationDir says:
 * the folder is a link or a file in the source, an entry collides with a file already there, or
 * is a link leading outside the folder, or a device.
 */
export class InvalidSourceImageContentError extends BuildFailure {
  readonly reason = 'InvalidSourceImageContent';
  readonly phase = 'Failed';
}

/** The repository answered but could not be fetched (not found, access denied, ...). */
export class FetchSourceFailedError extends BuildFailure {
  readonly reason = 'FetchSourceFailed';
  readonly phase = 'Failed';
}

/**
 * A git submodule of the source could not be fetched (not found, refused, unreachable); the
 * message names its path in the repository.
 */
export class SubmoduleFetchFailedError extends BuildFailure {
  readonly reason = 'SubmoduleFetchFailed';
  readonly phase = 'Failed';
  /** The server refused the submodule's commit when asked for it alone (a full fetch may do). */
  commitNotServed = false;
}

/**
 * The source has Git LFS files and this agent has no working `git-lfs` to fetch their content;
 * the message names the files (the first few) and their count. Building with the pointer files
 * in their place is never done.
 */
export class GitLfsUnavailableError extends BuildFailure {
  readonly reason = 'GitLfsUnavailable';
  readonly phase = 'Failed';
}

/** `git lfs pull` could not fetch the content of the source's LFS files. */
export class GitLfsFetchFailedError extends BuildFailure {
  readonly reason = 'GitLfsFetchFailed';
  readonly phase = 'Failed';
}

/** The context folder or Dockerfile named in the config is not in the source. */
export class InvalidContextError extends BuildFailure {
  readonly reason = 'InvalidContext';
  readonly phase = 'Failed';
}

/** The uploaded context holds more entries than SLIPWAY_AGENT_MAX_CONTEXT_ENTRIES. */
export class ContextTooManyEntriesError extends BuildFailure {
  readonly reason = 'ContextTooManyEntries';
  readonly phase = 'Failed';
}

/** The uploaded context unpacks to more than SLIPWAY_AGENT_MAX_CONTEXT_RATIO times its compressed size. */
export class ContextRatioTooHighError extends BuildFailure {
  readonly reason = 'ContextRatioTooHigh';
  readonly phase = 'Failed';
}

/** A build step (a RUN instruction) exited non-zero. */
export class BuildStepFailedError extends BuildFailure {
  readonly reason = 'BuildStepFailed';
  readonly phase = 'Failed';
}

/** The daemon refused the build for another cause: a bad Dockerfile, a base image it cannot pull. */
export class DockerBuildFailedError extends BuildFailure {
  readonly reason = 'DockerBuildFailed';
  readonly phase = 'Failed';
}

/** The built image could not be pushed: the registry is unreachable or refused it. */
export class PushImageFailedError extends BuildFailure {
  readonly reason = 'PushImageFailed';
  readonly phase = 'Failed';
}

/** The registry refused the push for want of (right) credentials. */
export class RegistryAuthFailedError extends BuildFailure {
  readonly reason = 'RegistryAuthFailed';
  readonly phase = 'Failed';
}

/** The config names a push secret that does not exist. */
export class MissingPushSecretError extends BuildFailure {
  readonly reason = 'MissingPushSecret';
  readonly phase = 'Failed';
}

/** BuildKit's Dockerfile frontend cannot read the Dockerfile: a parse error, an unknown instruction or flag, a `--mount` type it does not know. */
export class InvalidDockerfileError extends BuildFailure {
  readonly reason = 'InvalidDockerfile';
  readonly phase = 'Failed';
}

/**
 * The build has `resources`, and the agent's executor cannot hold a Dockerfile build to them:
 * BuildKit in a shared daemon ignores per-build limits, so only a daemon of the build's own
 * (the dind executor) can apply them.
 */
export class ResourceLimitsUnsupportedError extends BuildFailure {
  readonly reason = 'ResourceLimitsUnsupported';
  readonly phase = 'Failed';
}

/**
 * The build must run in a user namespace (its config's security.unprivileged, or its namespace's
 * policy), and this agent's builds do not (Executor.isolation): placement sends such builds only
 * to agents that advertise `userns`, so this is the backstop for one that came here anyway.
 */
export class UnprivilegedRequiredError extends BuildFailure {
  readonly reason = 'UnprivilegedRequired';
  readonly phase = 'Failed';
}

/** The node's Docker daemon could not be used. */
export class ExecutorUnavailableError extends BuildFailure {
  readonly reason = 'ExecutorUnavailable';
  readonly phase = 'Error';
}

/** A build step was killed for going over the build's memory limit. */
export class OutOfMemoryError extends BuildFailure {
  readonly reason = 'OutOfMemory';
  readonly phase = 'Failed';
}

/** The build ran past its completionDeadlineSeconds and was stopped. */
export class DeadlineExceededError extends BuildFailure {
  readonly reason = 'DeadlineExceeded';
  readonly phase = 'Failed';
}

/** A user cancelled the build while it ran; it was stopped. */
export class CancelledError extends BuildFailure {
  readonly reason = 'Cancelled';
  readonly phase = 'Cancelled';
}

/** The attempt is no longer this agent's (the coordinator gave it up or to another attempt). */
export class AttemptLostError extends BuildFailure {
  readonly reason = 'AgentLost';
  readonly phase = 'Error';
}

/** The agent shut down before the build finished; with retries left it runs again elsewhere. */
export class AgentShutdownError extends BuildFailure {
  readonly reason = 'AgentShutdown';
  readonly phase = 'Error';
}

/** Anything unforeseen inside the agent. */
export class AgentInternalError extends BuildFailure {
  readonly reason = 'AgentError';
  readonly phase = 'Error';
}

/**
 * The coordinator handed over a build the agent cannot read: a part it needs is missing, or the
 * build is not the attempt that was claimed. Reported as an AgentError, without running it.
 */
export class MalformedBuildError extends AgentInternalError {
  constructor(
    /** The part at fault, as a path in the claim's answer (e.g. `build.spec.config.output`). */
    readonly field: string,
    problem: string,
  ) {
    super(`the coordinator handed over a malformed build: ${field} ${problem}`);
  }
}
