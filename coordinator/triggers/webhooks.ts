import type { IncomingMessage, ServerResponse } from 'node:http';
import { BuildConfigNotFoundError, InvalidInputError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import {
  MAX_WEBHOOK_DELIVERIES,
  type BuildCause,
  type BuildConfig,
  type BuildConfigStatus,
  type WebhookDelivery,
} from '../../api/types.js';
import type { BuildApi } from '../builds/build-api.js';
import { BodyTooLargeError, readBody, sendJson, type HttpServer } from '../http/http-server.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { bitbucket } from './bitbucket.js';
import { generic } from './generic.js';
import { gitea } from './gitea.js';
import { github } from './github.js';
import { gitlab } from './gitlab.js';
import {
  deliveryId as deliveryIdOf,
  type PushEvent,
  type WebhookProvider,
  type WebhookRequest,
} from './webhook-provider.js';

/** Largest delivery body read (GitHub caps push payloads' commit lists, so pushes stay far below). */
export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;
/** A delivery id is kept in the config's status, so it is short and printable. */
const DELIVERY_ID = /^[\x21-\x7e]{1,200}$/;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * The one answer to a delivery for a config that does not exist, has no trigger of the kind, or
 * whose secret does not match: the endpoint tells nobody which configs exist.
 */
const NOT_AUTHORIZED = 'the delivery is not authorized: no such webhook trigger, or the secret does not match';

export interface WebhookDeps {
  api: BuildApi;
  secrets: SecretStore;
  log: Logger;
  clock?: () => Date;
  maxBodyBytes?: number;
}

/**
 * Registers the webhook triggers on the coordinator's HTTP port:
 *
 *   POST /webhooks/:namespace/:name/github            signed (X-Hub-Signature-256)
 *   POST /webhooks/:namespace/:name/gitlab            X-Gitlab-Token
 *   POST /webhooks/:namespace/:name/bitbucket         signed (X-Hub-Signature), Cloud and Server
 *   POST /webhooks/:namespace/:name/gitea             signed (X-Gitea-Signature), Gitea and Forgejo
 *   POST /webhooks/:namespace/:name/generic/:secret   the secret in the URL (OpenShift's form)
 *
 * A delivery is checked in this order, and answered at the first problem: content type (415),
 * size (413), credentials header (401), config + trigger + secret (401, one answer for all),
 * JSON (400), payload (400); then a push of the config's branch starts a build at the pushed
 * commit (201), anything else starts none (200, saying why). A redelivery (same delivery id)
 * starts no second build (200, naming the first one's build).
 */
export function registerWebhooks(http: HttpServer, deps: WebhookDeps): void {
  const hooks = new WebhookHandler(deps);
  http.route('POST', '/webhooks/:namespace/:name/github', (req, res, p) => hooks.handle(github, req, res, p));
  http.route('POST', '/webhooks/:namespace/:name/gitlab', (req, res, p) => hooks.handle(gitlab, req, res, p));
  http.route('POST', '/webhooks/:namespace/:name/bitbucket', (req, res, p) => hooks.handle(bitbucket, req, res, p));
  http.route('POST', '/webhooks/:namespace/:name/gitea', (req, res, p) => hooks.handle(gitea, req, res, p));
  http.route('POST', '/webhooks/:namespace/:name/generic/:secret', (req, res, p) => hooks.handle(generic, req, res, p));
}

type Outcome = { kind: 'started' } | { kind: 'duplicate'; prior: WebhookDelivery } | { kind: 'gone' };

class WebhookHandler {
  private readonly clock: () => Date;
  private readonly maxBody: number;

  constructor(private readonly deps: WebhookDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.maxBody = deps.maxBodyBytes ?? WEBHOOK_MAX_BODY_BYTES;
  }

  async handle(
    provider: WebhookProvider,
    req: IncomingMessage,
    res: ServerResponse,
    params: Record<string, string>,
  ): Promise<void> {
    const { namespace, name } = params as { namespace: string; name: string };
    // Never the path: a generic webhook's carries the secret.
    const log = this.deps.log.child({ webhook: provider.type, namespace, config: name });

    const contentType = req.headers['content-type'];
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if ((provider.bodyRequired || hasBody) && !JSON_TYPE.test(contentType ?? '')) {
      return refuse(
        res,
        415,
        `the body must be JSON (Content-Type: application/json), got ${JSON.stringify(contentType ?? 'none')}${provider.type === 'GitHub' || provider.type === 'Gitea' ? `: set the webhook's content type to application/json in ${provider.type}` : ''}`,
      );
    }
    if (Number(req.headers['content-length'] ?? 0) > this.maxBody)
      return refuse(res, 413, `the body is larger than ${this.maxBody} bytes`);
    let body: Buffer;
    try {
      body = await readBody(req, this.maxBody);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return refuse(res, 413, `the body is larger than ${this.maxBody} bytes`);
      throw err;
    }
    if (provider.bodyRequired && body.length === 0)
      return sendJson(res, 400, { message: 'the body is empty: a JSON payload is required' });
    const delivery: WebhookRequest = { headers: req.headers, body, urlSecret: params.secret };

    const credentialsProblem = provider.credentialsProblem(delivery);
    if (credentialsProblem) return sendJson(res, 401, { message: credentialsProblem });
    const config = await this.authenticate(provider, delivery, namespace, name, log);
    if (!config) return sendJson(res, 401, { message: NOT_AUTHORIZED });

    const deliveryId = deliveryIdOf(provider, delivery);
    if (deliveryId !== undefined && !DELIVERY_ID.test(deliveryId)) {
      return sendJson(res, 400, {
        message: `the delivery id header (${provider.deliveryHeaders.join(' or ')}) must be 1 to 200 printable ASCII characters`,
      });
    }
    let payload: unknown;
    if (body.length > 0) {
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch (err) {
        return sendJson(res, 400, { message: `the body is not valid JSON: ${(err as Error).message}` });
      }
    }
    let event;
    try {
      event = provider.interpret(delivery, payload);
    } catch (err) {
      if (err instanceof InvalidInputError) return sendJson(res, 400, { message: err.message, fields: err.fields });
      throw err;
    }
    if (event.kind === 'ignored') {
      log.info('webhook delivery starts no build', { delivery: deliveryId, why: event.message });
      return sendJson(res, 200, { message: event.message });
    }
    // Of several branches pushed at once, the config's (it builds one branch).
    const push = event.pushes.find((p) => branchMismatch(config, p) === undefined);
    if (!push) {
      const mismatch = event.pushes.map((p) => branchMismatch(config, p)).join('; ');
      log.info('webhook delivery starts no build', { delivery: deliveryId, why: mismatch });
      return sendJson(res, 200, { message: mismatch });
    }
    await this.start(provider, config, push, deliveryId, res, log);
  }

  /**
   * The config, when it has a trigger of the provider's type whose webhook secret the delivery
   * carries; undefined otherwise (why is logged, for operators, never the secret).
   */
  private async authenticate(
    provider: WebhookProvider,
    req: WebhookRequest,
    namespace: string,
    name: string,
    log: Logger,
  ): Promise<BuildConfig | undefined> {
    let config: BuildConfig;
    try {
      config = (await this.deps.api.getBuildConfig(namespace, name)).value;
    } catch (err) {
      if (err instanceof BuildConfigNotFoundError || err instanceof InvalidInputError) {
        log.info('webhook delivery refused: no such BuildConfig');
        return undefined;
      }
      throw err;
    }
    const trigger = config.spec.triggers?.find((t) => t.type === provider.type);
    if (!trigger?.secret) {
      log.info(`webhook delivery refused: the BuildConfig has no ${provider.type} trigger`);
      return undefined;
    }
    const secret = await this.deps.secrets.revealWebhookSecret(namespace, trigger.secret.name);
    if (!secret) {
      log.warn(
        `webhook delivery refused: the ${provider.type} trigger's secret is not a webhook secret of the namespace`,
        { secret: trigger.secret.name },
      );
      return undefined;
    }
    if (!provider.authenticate(req, secret)) {
      log.info('webhook delivery refused: the secret does not match');
      return undefined;
    }
    return config;
  }

  /**
   * Starts the build, recording the delivery in the same compare-and-set that numbers it, so
   * that of two copies (a redelivery, or one each to two coordinators) one starts a build.
   */
  private async start(
    provider: WebhookProvider,
    config: BuildConfig,
    push: PushEvent,
    deliveryId: string | undefined,
    res: ServerResponse,
    log: Logger,
  ): Promise<void> {
    const { namespace, name } = config.metadata;
    const type = provider.type;
    const secretName = config.spec.triggers!.find((t) => t.type === type)!.secret!.name;
    const timestamp = this.clock().toISOString();
    let outcome: Outcome = { kind: 'gone' };
    const decide = (c: BuildConfig): BuildConfigStatus | undefined => {
      // The config as it is in the compare-and-set: its trigger may have gone or changed secret since the delivery was checked.
      if (!c.spec.triggers?.some((t) => t.type === type && t.secret?.name === secretName)) {
        outcome = { kind: 'gone' };
        return undefined;
      }
      if (deliveryId === undefined) {
        outcome = { kind: 'started' };
        return c.status;
      }
      const prior = c.status.webhookDeliveries?.find((d) => d.type === type && d.id === deliveryId);
      if (prior) {
        outcome = { kind: 'duplicate', prior };
        return undefined;
      }
      outcome = { kind: 'started' };
      return withDelivery(c.status, { type, id: deliveryId, version: c.status.lastVersion + 1, timestamp });
    };
    const configRef = config.spec.source.git?.ref;
    const ref = push.commit ?? (push.ref && !configRef ? push.ref.slice('refs/heads/'.length) : undefined);
    const pushedRef = push.ref ?? configRef;
    const cause: BuildCause = {
      type,
      message: `${type} ${push.ref || push.commit ? 'push of' : 'webhook for'} ${pushedRef ?? 'the default branch'}${push.commit ? ` at ${push.commit.slice(0, 7)}` : ''}`,
      git: {
        ...(pushedRef ? { ref: pushedRef } : {}),
        ...(push.commit ? { commit: push.commit } : {}),
        ...(deliveryId ? { deliveryId } : {}),
      },
    };
    let started;
    try {
      started = await this.deps.api.startBuildIf({ namespace, configName: name, ref, cause, decide });
    } catch (err) {
      if (err instanceof BuildConfigNotFoundError) return sendJson(res, 401, { message: NOT_AUTHORIZED });
      if (err instanceof InvalidInputError) return sendJson(res, 400, { message: err.message, fields: err.fields });
      throw err;
    }
    if (started) {
      const build = started.value.metadata.name;
      log.info('webhook started a build', { build, delivery: deliveryId, ref: pushedRef, commit: push.commit });
      return sendJson(res, 201, { message: `started build ${build}: ${cause.message}`, build });
    }
    const o = outcome as Outcome;
    if (o.kind === 'gone') return sendJson(res, 401, { message: NOT_AUTHORIZED });
    if (o.kind === 'duplicate') {
      const { build, found } = await this.deliveredBuild(namespace, name, o.prior);
      log.info('webhook redelivery starts no second build', { build, delivery: deliveryId, found });
      const message = found
        ? `delivery ${deliveryId} was received before and started build ${build}; it starts no other`
        : `delivery ${deliveryId} was received before and numbered build ${build}, which is not there yet: it is being created (a coordinator that stopped before creating it is covered by another within seconds), or it was deleted; it starts no other`;
      return sendJson(res, 200, { message, build, duplicate: true });
    }
  }

  /**
   * The build a delivery started: the one whose cause names it, else the number it was given.
   * Not found: its create is still on its way (another coordinator's copy), it was deleted, or
   * the coordinator stopped between numbering and creating it. That last is not mended here: a
   * second build for the number could not be told from the first one's late create.
   */
  private async deliveredBuild(
    namespace: string,
    configName: string,
    prior: WebhookDelivery,
  ): Promise<{ build: string; found: boolean }> {
    const builds = await this.deps.api.listBuilds({ namespace, configName });
    const hit = builds.find((b) =>
      b.value.spec.triggeredBy?.some((c) => c.type === prior.type && c.git?.deliveryId === prior.id),
    );
    return hit
      ? { build: hit.value.metadata.name, found: true }
      : { build: `${configName}-${prior.version}`, found: false };
  }
}

/** The status with `record` added as the newest delivery, the oldest dropped past MAX_WEBHOOK_DELIVERIES. */
export function withDelivery(status: BuildConfigStatus, record: WebhookDelivery): BuildConfigStatus {
  return { ...status, webhookDeliveries: [...(status.webhookDeliveries ?? []), record].slice(-MAX_WEBHOOK_DELIVERIES) };
}

/**
 * Why a push does not concern the config, or undefined when it does: the config builds one
 * branch (its source.git.ref, else the repository's default branch); a push without a ref (a
 * generic webhook without a body) builds the config's own. A config without a ref matches no
 * push whose sender never names the default branch (Bitbucket): it cannot tell which is.
 */
export function branchMismatch(config: BuildConfig, push: PushEvent): string | undefined {
  if (!push.ref) return undefined;
  const pushed = push.ref.slice('refs/heads/'.length);
  const configRef = config.spec.source.git?.ref;
  if (configRef) {
    const wanted = configRef.startsWith('refs/heads/') ? configRef.slice('refs/heads/'.length) : configRef;
    return wanted === pushed ? undefined : `the BuildConfig builds ${configRef}, not ${push.ref}: nothing started`;
  }
  if (push.defaultBranchUnknown) {
    return `the BuildConfig builds the repository's default branch, which this sender does not name: set source.git.ref to the branch to build (${push.ref} was pushed): nothing started`;
  }
  if (push.defaultBranch !== undefined && push.defaultBranch !== pushed) {
    return `the BuildConfig builds the default branch (${push.defaultBranch}), not ${push.ref}: nothing started`;
  }
  return undefined;
}

/** Answers an error before the body was read whole: the connection is closed rather than read on. */
function refuse(res: ServerResponse, status: number, message: string): void {
  res.setHeader('connection', 'close');
  sendJson(res, status, { message });
}
