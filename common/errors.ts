/**
 * Errors crossing module boundaries. One class per failure, each with a stable CamelCase
 * `reason` that also appears in Build status; `toGrpcStatus` (common/grpc/status.ts) maps them
 * to gRPC codes in one place.
 */

/** A single field problem: `field` is a path like `spec.output.image`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export abstract class SlipwayError extends Error {
  abstract readonly reason: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request's input is wrong; nothing was changed. Lists every field at fault. */
export class InvalidInputError extends SlipwayError {
  readonly reason: string = 'Invalid';
  readonly fields: readonly FieldError[];
  constructor(fields: readonly FieldError[], what = 'input') {
    super(`invalid ${what}: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`);
    this.fields = fields;
  }
  /** The first field at fault, for callers that want one. */
  get field(): string {
    return this.fields[0]?.field ?? '';
  }
}

export class InvalidBuildConfigError extends InvalidInputError {
  override readonly reason = 'InvalidBuildConfig';
  constructor(fields: readonly FieldError[]) {
    super(fields, 'BuildConfig');
  }
}

/**
 * A listing's page token (gRPC `page_token`, the Kubernetes API's `continue`) that this server
 * did not give for this listing: malformed, or from another resource, namespace or filter.
 */
export class InvalidPageTokenError extends InvalidInputError {
  override readonly reason = 'InvalidPageToken';
  constructor(field: string, message: string) {
    super([{ field, message }], 'page token');
  }
}

export class NotFoundError extends SlipwayError {
  readonly reason: string = 'NotFound';
  constructor(
    readonly kind: string,
    readonly key: string,
  ) {
    super(`${kind} "${key}" not found`);
  }
}

export class BuildConfigNotFoundError extends NotFoundError {
  override readonly reason = 'BuildConfigNotFound';
  constructor(key: string) {
    super('BuildConfig', key);
  }
}

export class BuildNotFoundError extends NotFoundError {
  override readonly reason = 'BuildNotFound';
  constructor(key: string) {
    super('Build', key);
  }
}

export class AlreadyExistsError extends SlipwayError {
  readonly reason = 'AlreadyExists';
  constructor(
    readonly kind: string,
    readonly key: string,
  ) {
    super(`${kind} "${key}" already exists`);
  }
}

/** A compare-and-set lost: the object changed since it was read. Safe to retry after a re-read. */
export class ConflictError extends SlipwayError {
  readonly reason = 'Conflict';
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    options?: { cause?: unknown },
  ) {
    super(`"${key}" changed since revision ${expectedRevision}`, options);
  }
}

/**
 * A watch asked for changes after a revision the store no longer holds every change after
 * (per-key history dropped one): the caller must list again and watch from the new revision.
 */
export class RevisionExpiredError extends SlipwayError {
  readonly reason = 'Expired';
  constructor(
    readonly revision: number,
    /** The revision the watch found first, past the missing one(s). */
    readonly found: number,
  ) {
    super(
      `too old resource version: ${revision} (the history after it is no longer complete: next kept change is ${found})`,
    );
  }
}

/** A report names an attempt of a build that is no longer the current one, or not this agent's. */
export class StaleAttemptError extends SlipwayError {
  readonly reason = 'StaleAttempt';
}

/**
 * A claim from an agent whose node does not have the labels the build's `nodeSelector` asks
 * for. The build stays Pending for an agent on a matching node.
 */
export class NodeSelectorMismatchError extends SlipwayError {
  readonly reason = 'NodeSelectorMismatch';
  constructor(
    message: string,
    /** `key=value` entries of the selector the node's labels do not have. */
    readonly unmatched: readonly string[],
  ) {
    super(message);
  }
}

/** The build already reached a terminal phase; nothing more can happen to it. */
export class BuildAlreadyTerminalError extends SlipwayError {
  readonly reason = 'BuildAlreadyTerminal';
  constructor(
    readonly key: string,
    readonly phase: string,
  ) {
    super(`build "${key}" is already ${phase}`);
  }
}

/** A running build cannot be deleted: its agent is stopping it (it was asked to cancel). */
export class BuildStillRunningError extends SlipwayError {
  readonly reason = 'BuildStillRunning';
  constructor(readonly key: string) {
    super(`build "${key}" is running: it is being cancelled; delete it again once it has ended`);
  }
}

/** The coordinator, NATS or another dependency is not there right now; retrying may help. */
export class UnavailableError extends SlipwayError {
  readonly reason = 'Unavailable';
}

/**
 * The request carries no credentials this server trusts (401, UNAUTHENTICATED). The message says
 * which kinds were tried, never what was sent: a wrong token must not end up in a log or a response.
 */
export class UnauthenticatedError extends SlipwayError {
  readonly reason = 'Unauthorized';
}

/** The caller is known but may not do this (403, PERMISSION_DENIED); nothing was changed. */
export class PermissionDeniedError extends SlipwayError {
  readonly reason = 'Forbidden';
}

/** The operation was stopped through its AbortSignal. */
export class AbortedError extends SlipwayError {
  readonly reason = 'Aborted';
  constructor(message = 'aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isAbortError(err: unknown): boolean {
  return err instanceof AbortedError || (err instanceof Error && err.name === 'AbortError');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
