import { openAsBlob } from 'node:fs';
import type { CanonicalImage } from '../../common/image-reference.js';
import { MANIFEST_DIGEST } from '../../common/image-reference.js';
import { errorMessage } from '../../common/errors.js';
import { RegistrySession } from '../../common/registry-session.js';
import { BuildFailure, PushImageFailedError, RegistryAuthFailedError } from '../build-failures.js';
import type { RegistryAuth } from './types.js';

/**
 * A push the registry did not take, for a reason other than credentials. `transient` when the
 * same request may pass if made again: a 5xx answer, a connection cut or reset, a timeout (not
 * a refused connection: nothing listens, and trying again soon changes nothing).
 */
export class RegistryPushFailedError extends PushImageFailedError {
  constructor(
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Network errors (Node's and undici's codes) of a connection that was made and then failed. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The few Registry HTTP API V2 calls a push makes (Docker's daemon is not involved), answering
 * the registry's auth challenge once with `auth` (Basic, or a Bearer token for pull and push).
 * Every refusal is typed: RegistryAuthFailedError for a 401 or 403, RegistryPushFailedError (a
 * PushImageFailedError) otherwise; AbortError as it comes when `signal` aborts.
 */
export class RegistryPush {
  private readonly session: RegistrySession;

  constructor(
    /** The repository pushed to; its tag is not used (each manifest names its reference). */
    private readonly image: Pick<CanonicalImage, 'registry' | 'repository'>,
    private readonly auth: RegistryAuth | undefined,
    private readonly signal: AbortSignal,
    /** Registries spoken to over plain HTTP besides loopback ones. */
    insecureRegistries?: readonly string[],
  ) {
    this.session = new RegistrySession(image, { credentials: auth, actions: 'pull,push', signal, insecureRegistries });
  }

  /** Whether the repository has the blob (`HEAD /v2/<repository>/blobs/<digest>`). */
  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.call('HEAD', `blobs/${digest}`);
    return res.ok;
  }

  /** Uploads a blob in one request (a POST to start, a PUT with its digest). */
  async putBlob(digest: string, body: Blob): Promise<void> {
    const start = await this.call('POST', 'blobs/uploads/');
    if (start.status !== 202) throw await this.refused(start, `starting the upload of ${digest}`);
    const location = new URL(start.headers.get('location') ?? '', this.session.base);
    location.searchParams.set('digest', digest);
    const res = await this.call('PUT', location.toString(), { body, type: 'application/octet-stream' });
    if (res.status !== 201) throw await this.refused(res, `uploading ${digest}`);
  }

  /**
   * Puts a manifest at `reference`: a tag, or its own digest (`sha256:…`, which the registry
   * checks against the bytes, and which moves no tag).
   */
  async putManifest(reference: string, mediaType: string, body: Uint8Array): Promise<void> {
    const digest = MANIFEST_DIGEST.test(reference);
    const res = await this.call('PUT', `manifests/${digest ? reference : encodeURIComponent(reference)}`, {
      body: new Blob([new Uint8Array(body)]),
      type: mediaType,
    });
    if (res.status !== 201)
      throw await this.refused(res, `putting the manifest ${digest ? reference : `at tag ${reference}`}`);
  }

  /**
   * Pushes an image: each blob the repository lacks (config and layers, read from their files),
   * then its manifest's exact bytes at `manifest.reference` (a tag, or its own digest).
   */
  async pushImage(
    blobs: readonly { digest: string; size: number; file: string }[],
    manifest: { reference: string; mediaType: string; bytes: Uint8Array },
    onLine: (line: string) => void,
  ): Promise<void> {
    for (const blob of blobs) {
      if (await this.hasBlob(blob.digest)) continue;
      onLine(`Pushing blob ${blob.digest} (${blob.size} bytes)`);
      await this.putBlob(blob.digest, await openAsBlob(blob.file));
    }
    await this.putManifest(manifest.reference, manifest.mediaType, manifest.bytes);
  }

  /** RegistryAuthFailed for a 401 or 403, else RegistryPushFailed, with what the registry said. */
  private async refused(res: Response, what: string): Promise<BuildFailure> {
    const text = (await res.text().catch(() => '')).slice(0, 300).trim();
    const message = `${this.image.registry} refused ${what} for ${this.image.repository} (${res.status})${text ? `: ${text}` : ''}`;
    if (res.status === 401 || res.status === 403)
      return new RegistryAuthFailedError(
        `${message} ${this.auth ? "with the push secret's credentials" : 'without credentials (no push secret)'}`,
      );
    return new RegistryPushFailedError(message, res.status >= 500);
  }

  /** A call of the session; a failure to get an answer is a RegistryPushFailedError (transient or not). */
  private async call(method: string, path: string, init?: { body?: Blob; type?: string }): Promise<Response> {
    try {
      return await this.session.call(method, path, init);
    } catch (err) {
      if (this.signal.aborted || err instanceof BuildFailure) throw err;
      throw new RegistryPushFailedError(
        `pushing to ${this.image.registry} failed: ${errorMessage(err)}`,
        TRANSIENT_CODES.has(networkCode(err) ?? ''),
        { cause: err },
      );
    }
  }
}

/** The code of a failed fetch's network error (fetch wraps it: TypeError "fetch failed", cause …). */
function networkCode(err: unknown): string | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
