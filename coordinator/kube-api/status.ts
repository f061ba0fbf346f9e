import {
  AlreadyExistsError,
  BuildAlreadyTerminalError,
  BuildStillRunningError,
  ConflictError,
  InvalidInputError,
  NotFoundError,
  RevisionExpiredError,
  errorMessage,
} from '../../common/errors.js';
import { isNatsUnavailable } from '../../common/grpc/status.js';
import { GROUP, qualified, type ResourceInfo } from './resources.js';

/** A Kubernetes `Status` (meta/v1), the body of every error answer. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason: string; message: string; field: string }[];
  };
  code: number;
}

/** An error the HTTP layer raises itself (bad path, method, media type, access). */
export class KubeHttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export function success(details: KubeStatus['details']): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}

/**
 * The one place errors become Kubernetes Status objects, worded as the apiserver words them
 * (clients and kubectl match on `reason` and `code`). Unknown errors are 500 InternalError.
 */
export function toKubeStatus(err: unknown, target?: { resource: ResourceInfo; name?: string }): KubeStatus {
  const name = target?.name;
  const resource = target?.resource;
  const what = resource ? `${qualified(resource)}${name ? ` "${name}"` : ''}` : 'object';
  const ref = resource ? { ...(name ? { name } : {}), group: GROUP, kind: resource.plural } : undefined;
  if (err instanceof KubeHttpError) return failure(err.code, err.reason, err.message, ref);
  if (err instanceof InvalidInputError) {
    const kind = resource?.kind ?? 'object';
    const causes = err.fields.map((f) => ({ reason: causeReason(f.message), message: f.message, field: f.field }));
    const list = err.fields.map((f) => `${f.field}: ${f.message}`).join(', ');
    return failure(
      422,
      'Invalid',
      `${kind}.${GROUP} "${name ?? ''}" is invalid: ${err.fields.length > 1 ? `[${list}]` : list}`,
      {
        ...(name ? { name } : {}),
        group: GROUP,
        kind,
        causes,
      },
    );
  }
  if (err instanceof NotFoundError) {
    const shown = err.key.slice(err.key.indexOf('/') + 1);
    const res =
      err.kind === 'Build' ? 'builds' : err.kind === 'BuildConfig' ? 'buildconfigs' : (resource?.plural ?? err.kind);
    return failure(404, 'NotFound', `${res}.${GROUP} "${shown}" not found`, { name: shown, group: GROUP, kind: res });
  }
  if (err instanceof AlreadyExistsError) return failure(409, 'AlreadyExists', `${what} already exists`, ref);
  if (err instanceof ConflictError) {
    return failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`,
      ref,
    );
  }
  if (err instanceof BuildStillRunningError || err instanceof BuildAlreadyTerminalError) {
    return failure(409, 'Conflict', `Operation cannot be fulfilled on ${what}: ${err.message}`, ref);
  }
  if (err instanceof RevisionExpiredError) return failure(410, 'Expired', err.message);
  if (isNatsUnavailable(err))
    return failure(503, 'ServiceUnavailable', `the state store is unavailable: ${errorMessage(err)}`);
  return failure(500, 'InternalError', `Internal error occurred: ${errorMessage(err)}`);
}

/** Kubernetes' cause reasons for field errors, from our messages. */
function causeReason(message: string): string {
  if (message === 'is required' || message === 'must not be empty') return 'FieldValueRequired';
  if (message === 'unknown field') return 'FieldValueNotSupported';
  return 'FieldValueInvalid';
}
