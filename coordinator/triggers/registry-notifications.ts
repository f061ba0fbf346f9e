import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage, InvalidInputError, type FieldError } from '../../common/errors.js';
import { MANIFEST_DIGEST, registryHostKey } from '../../common/image-reference.js';
import type { Logger } from '../../common/log.js';
import { BodyTooLargeError, readBody, sendJson, type HttpServer } from '../http/http-server.js';
import type { ImageChangeTriggers, PushedTag } from './image-change.js';

/**
 * POST /webhooks/registry: the distribution registry's notifications (docker-registry 2.x,
 * `notifications: endpoints:` in its config.yml). Each push of a manifest with a tag is a new
 * digest of that tag, and starts the builds of the configs whose ImageChange trigger watches it.
 *
 * Authentication: the endpoint's `headers:` carry `Authorization: Bearer <token>`, the token
 * being the content of SLIPWAY_REGISTRY_NOTIFY_TOKEN_FILE; only its SHA-256 is kept, and a
 * presented token is compared by digest in constant time. Without the setting the route is not
 * there (404). A delivery without the token is 401 and starts nothing.
 *
 * Which registry: an event names the registry by its `request.host`, the Host the pusher used.
 * A watched image matches when its registry (as registryHostKey compares hosts: lower case,
 * `:443` dropped, Docker Hub's aliases as one) is that host, or one of the names the endpoint's
 * `X-Slipway-Registry` header lists (comma-separated): for a registry that configs name
 * differently from how pushes reach it (a Service name and an Ingress name). Repository and tag
 * must be equal. So a delivery can only start builds of images on the registry it speaks for,
 * which its operator configured.
 *
 * Answers: 200 once every event was handled (builds started or declined: a digest already
 * recorded starts nothing, so a redelivery is harmless); 503 when the state store could not be
 * reached, so the registry delivers it again later (it retries until it gets a 2xx or 3xx).
 */
export const REGISTRY_NOTIFICATIONS_PATH = '/webhooks/registry';
export const REGISTRY_EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';
/** The endpoint's header that names the registry's other names, as image references give them. */
export const REGISTRY_ALIASES_HEADER = 'x-slipway-registry';
/** Largest envelope read; the registry sends a handful of events at a time. */
export const MAX_NOTIFICATION_BYTES = 4 * 1024 * 1024;

const MANIFEST_MEDIA_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** A manifest pushed with a tag, from one event. */
export interface ManifestPush extends PushedTag {
  digest: string;
}

/**
 * The pushes of tagged manifests in an events envelope (other events, blobs and pulls, are
 * left out). `aliases`: the registry's other names (X-Slipway-Registry).
 * @throws InvalidInputError naming the field when the envelope is not one.
 */
export function manifestPushes(envelope: unknown, aliases: string[] = []): ManifestPush[] {
  const events = (envelope as { events?: unknown } | null)?.events;
  if (!Array.isArray(events))
    throw new InvalidInputError(
      [{ field: 'events', message: 'must be an array of registry events' }],
      'registry notification',
    );
  const pushes: ManifestPush[] = [];
  const problems: FieldError[] = [];
  events.forEach((e: unknown, i) => {
    const ev = e as { action?: unknown; target?: Record<string, unknown>; request?: Record<string, unknown> } | null;
    if (ev?.action !== 'push' || typeof ev.target !== 'object' || ev.target === null) return;
    const { mediaType, repository, tag, digest } = ev.target;
    if (typeof mediaType !== 'string' || !MANIFEST_MEDIA_TYPES.has(mediaType.split(';')[0]!.trim())) return;
    if (typeof tag !== 'string' || tag === '') return; // pushed by digest (a manifest list's parts)
    if (typeof repository !== 'string' || repository === '')
      return void problems.push({ field: `events[${i}].target.repository`, message: 'must be a repository name' });
    if (typeof digest !== 'string' || !MANIFEST_DIGEST.test(digest))
      return void problems.push({ field: `events[${i}].target.digest`, message: 'must be a sha256 digest' });
    const host = typeof ev.request?.host === 'string' ? ev.request.host : '';
    const registries = [...new Set([host, ...aliases].filter(Boolean).map(registryHostKey))];
    if (registries.length === 0)
      return void problems.push({
        field: `events[${i}].request.host`,
        message: 'must name the registry (or the endpoint must send X-Slipway-Registry)',
      });
    pushes.push({ registries, repository, tag, digest });
  });
  if (problems.length > 0) throw new InvalidInputError(problems, 'registry notification');
  return pushes;
}

export class RegistryNotifications {
  private constructor(
    private readonly triggers: ImageChangeTriggers,
    /** SHA-256 of the token: the token itself is not kept. */
    private readonly tokenDigest: Buffer,
    private readonly log: Logger,
  ) {}

  /**
   * Reads the token from `file` (surrounding white space dropped).
   * @throws InvalidInputError naming `setting` when the file cannot be read or is empty.
   */
  static async fromTokenFile(
    file: string,
    setting: string,
    triggers: ImageChangeTriggers,
    log: Logger,
  ): Promise<RegistryNotifications> {
    let token: string;
    try {
      token = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      throw new InvalidInputError(
        [{ field: setting, message: `cannot read "${file}": ${errorMessage(err)}` }],
        'coordinator configuration',
      );
    }
    if (token.length < 16)
      throw new InvalidInputError(
        [{ field: setting, message: `"${file}" must hold a token of at least 16 characters` }],
        'coordinator configuration',
      );
    return new RegistryNotifications(triggers, sha256(token), log);
  }

  addTo(http: HttpServer): void {
    http.route('POST', REGISTRY_NOTIFICATIONS_PATH, (req, res) => this.handle(req, res));
  }

  private authenticated(req: IncomingMessage): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    // Both sides are 32-byte digests: the comparison takes the same time whatever was sent.
    return timingSafeEqual(sha256(m?.[1] ?? ''), this.tokenDigest) && m !== null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authenticated(req)) {
      this.log.warn('registry notification refused: no valid bearer token', { from: req.socket.remoteAddress });
      res.setHeader('www-authenticate', 'Bearer realm="slipway registry notifications"');
      sendJson(res, 401, {
        error: 'Unauthorized',
        message: 'a registry notification needs the bearer token of SLIPWAY_REGISTRY_NOTIFY_TOKEN_FILE',
      });
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== REGISTRY_EVENTS_MEDIA_TYPE && type !== 'application/json') {
      sendJson(res, 415, {
        error: 'UnsupportedMediaType',
        message: `content-type must be ${REGISTRY_EVENTS_MEDIA_TYPE}, got "${type}"`,
      });
      return;
    }
    let pushes: ManifestPush[];
    try {
      const body = await readBody(req, MAX_NOTIFICATION_BYTES);
      const aliases = String(req.headers[REGISTRY_ALIASES_HEADER] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      pushes = manifestPushes(JSON.parse(body.toString('utf8')), aliases);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return sendJson(res, 413, { error: 'TooLarge', message: err.message });
      if (err instanceof InvalidInputError)
        return sendJson(res, 400, { error: 'Invalid', message: err.message, fields: err.fields });
      if (err instanceof SyntaxError)
        return sendJson(res, 400, { error: 'Invalid', message: `the body is not JSON: ${err.message}` });
      throw err;
    }
    const started: string[] = [];
    try {
      for (const p of pushes) {
        const builds = await this.triggers.digestChanged(p, p.digest, 'registry notification');
        started.push(...builds.map((b) => `${b.metadata.namespace}/${b.metadata.name}`));
      }
    } catch (err) {
      // Builds started before the failure stay, and their digests are recorded: the registry's
      // redelivery starts only what is missing.
      this.log.warn('registry notification not handled; the registry will deliver it again', {
        error: errorMessage(err),
      });
      sendJson(res, 503, {
        error: 'Unavailable',
        message: 'the build state could not be reached; deliver again later',
      });
      return;
    }
    sendJson(res, 200, { pushes: pushes.length, started });
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
