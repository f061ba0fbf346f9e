import { AuthorizationV1Api, type KubeConfig, type V1SubjectAccessReview } from '@kubernetes/client-node';
import { SlipwayError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { RequestAttributes, UserInfo } from './types.js';

/** The cluster could not be asked (the request is answered 500, as the apiserver's authorizer errors are). */
export class SubjectAccessReviewError extends SlipwayError {
  readonly reason = 'SubjectAccessReviewFailed';
}

export interface SubjectAccessReviewOptions {
  kubeConfig: KubeConfig;
  /** Sends the reviews; default: `createSubjectAccessReview` with `kubeConfig`. */
  send?: ReviewSender;
  /** How long decisions are kept: like kube's webhook authorizer, allowed 10 s, denied 5 s. */
  allowedTtlMs?: number;
  deniedTtlMs?: number;
  /** Most decisions kept; the oldest goes first. */
  cacheSize?: number;
  clock?: () => Date;
  log: Logger;
}

/** Sends SubjectAccessReviews; the fake in tests and the cluster answer alike. */
export type ReviewSender = (review: V1SubjectAccessReview) => Promise<V1SubjectAccessReview>;

/**
 * Delegated authorization: the cluster decides, through a SubjectAccessReview
 * (authorization.k8s.io/v1) with the user, groups, extra and the request's resource (or
 * non-resource) attributes, so RBAC on `build.slipway.dev` governs Slipway as it does any API.
 * Decisions are cached briefly, keyed by everything the review carries.
 */
export class SubjectAccessReviewAuthorizer {
  private readonly cache = new Map<string, { allowed: boolean; until: number }>();
  private readonly send: ReviewSender;
  private readonly clock: () => Date;

  constructor(private readonly o: SubjectAccessReviewOptions) {
    if (o.send) this.send = o.send;
    else {
      const api = o.kubeConfig.makeApiClient(AuthorizationV1Api);
      this.send = (body) => api.createSubjectAccessReview({ body });
    }
    this.clock = o.clock ?? (() => new Date());
  }

  /** @throws SubjectAccessReviewError when the cluster does not answer. */
  readonly authorize = async (user: UserInfo, a: RequestAttributes): Promise<boolean> => {
    const review = subjectAccessReview(user, a);
    const key = JSON.stringify(review.spec);
    const now = this.clock().getTime();
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.allowed;
    this.cache.delete(key);

    let answer: V1SubjectAccessReview;
    try {
      answer = await this.send(review);
    } catch (err) {
      throw new SubjectAccessReviewError(
        `cannot ask the cluster whether ${user.username} may ${a.verb}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const allowed = answer.status?.allowed === true && answer.status.denied !== true;
    if (!allowed && answer.status?.evaluationError)
      this.o.log.warn('SubjectAccessReview evaluation error', {
        user: user.username,
        error: answer.status.evaluationError,
      });
    const size = this.o.cacheSize ?? 1024;
    while (this.cache.size >= size) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, {
      allowed,
      until: now + (allowed ? (this.o.allowedTtlMs ?? 10_000) : (this.o.deniedTtlMs ?? 5000)),
    });
    return allowed;
  };
}

/** The review for one request, as kube's webhook authorizer writes it. */
export function subjectAccessReview(user: UserInfo, a: RequestAttributes): V1SubjectAccessReview {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: user.username,
      ...(user.uid ? { uid: user.uid } : {}),
      groups: user.groups,
      ...(user.extra && Object.keys(user.extra).length > 0 ? { extra: user.extra } : {}),
      ...(a.resourceRequest
        ? {
            resourceAttributes: {
              group: a.apiGroup ?? '',
              version: a.apiVersion ?? '',
              resource: a.resource ?? '',
              ...(a.subresource ? { subresource: a.subresource } : {}),
              ...(a.namespace ? { namespace: a.namespace } : {}),
              ...(a.name ? { name: a.name } : {}),
              verb: a.verb,
            },
          }
        : { nonResourceAttributes: { path: a.path, verb: a.verb } }),
    },
  };
}
