import { setTimeout as sleep } from 'node:timers/promises';
import type { Build } from '../../api/types.js';
import { parsePlatform } from '../../api/platforms.js';
import { errorMessage, SlipwayError } from '../../common/errors.js';
import { canonicalImage, formatCanonicalImage } from '../../common/image-reference.js';
import { authFor } from '../../common/registry-auth.js';
import { contentDigest, MANIFEST_ACCEPT, type RegistryCredentials } from '../../common/registry-client.js';
import { RegistrySession } from '../../common/registry-session.js';

/**
 * Pushing the OCI image index of a build of several platforms (platform-builds.ts): every
 * platform's manifest, pushed by digest by its own build, named with its platform in one index
 * put at the output tag. The registry is asked for each manifest's type and size (HEAD), which
 * also shows that it is there.
 */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** The index could not be pushed; `reason` is RegistryAuthFailed or PushImageFailed. */
export class PlatformIndexError extends SlipwayError {
  constructor(
    readonly reason: 'RegistryAuthFailed' | 'PushImageFailed',
    message: string,
  ) {
    super(message);
  }
}

export interface PlatformIndexOptions {
  /** The push secret's credentials (with the registry they are for), if the config names one. */
  credentials?: RegistryCredentials & { registry: string };
  /** Registries spoken to over plain HTTP; loopback always is. */
  insecureRegistries?: readonly string[];
  signal?: AbortSignal;
  /** Tries of a call a registry answers 5xx or does not answer; default 3. */
  tries?: number;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform: { os: string; architecture: string; variant?: string };
}

/**
 * Pushes the index of `parent`'s platforms (all completed, each with a digest) to its output
 * tag and returns what was pushed. The same platforms and digests make the same bytes, so a
 * second push (a coordinator taking over one that stopped) writes the same index.
 * @throws PlatformIndexError
 */
export async function pushPlatformIndex(
  parent: Build,
  o: PlatformIndexOptions,
): Promise<{ image: string; digest: string }> {
  const image = canonicalImage(parent.spec.config.output.image);
  if (typeof image === 'string') throw new PlatformIndexError('PushImageFailed', `output.image: ${image}`);
  const name = formatCanonicalImage(image);
  const session = new RegistrySession(image, {
    credentials: authFor(parent.spec.config.output.image, o.credentials),
    actions: 'pull,push',
    insecureRegistries: o.insecureRegistries,
    signal: o.signal,
  });
  const tries = o.tries ?? 3;
  const manifests: Descriptor[] = [];
  for (const p of parent.status.platforms ?? []) {
    const platform = parsePlatform(p.platform);
    if (typeof platform === 'string' || !p.digest)
      throw new PlatformIndexError('PushImageFailed', `platform ${p.platform} has no image to name`);
    const res = await retried(tries, o.signal, () =>
      session.call('HEAD', `manifests/${p.digest}`, { accept: MANIFEST_ACCEPT }),
    );
    if (!res.ok) throw refused(res, session, `platform ${p.platform}'s manifest ${p.digest}`, image.registry);
    const size = Number(res.headers.get('content-length'));
    const mediaType = res.headers.get('content-type')?.split(';')[0]?.trim();
    if (!mediaType || !Number.isSafeInteger(size) || size <= 0)
      throw new PlatformIndexError(
        'PushImageFailed',
        `${image.registry} did not say the type and size of ${p.platform}'s manifest ${p.digest}`,
      );
    manifests.push({ mediaType, digest: p.digest, size, platform });
  }
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  const res = await retried(tries, o.signal, () =>
    session.call('PUT', `manifests/${encodeURIComponent(image.tag)}`, {
      body: new Blob([new Uint8Array(body)]),
      type: OCI_INDEX,
    }),
  );
  if (res.status !== 201) throw refused(res, session, `the image index at ${name}`, image.registry);
  return { image: name, digest: contentDigest(body) };
}

/** A call tried again after a 5xx or no answer, up to `tries` in all; the last answer or failure is the caller's. */
async function retried(
  tries: number,
  signal: AbortSignal | undefined,
  call: () => Promise<Response>,
): Promise<Response> {
  for (let n = 1; ; n++) {
    try {
      const res = await call();
      if (res.status < 500 || n >= tries) return res;
    } catch (err) {
      if (signal?.aborted) throw err;
      if (n >= tries)
        throw new PlatformIndexError('PushImageFailed', `the registry did not answer: ${errorMessage(err)}`);
    }
    await sleep(500 * n, undefined, { signal });
  }
}

function refused(res: Response, session: RegistrySession, what: string, registry: string): PlatformIndexError {
  const message = `${registry} answered ${res.status} for ${what}`;
  if (res.status === 401 || res.status === 403)
    return new PlatformIndexError(
      'RegistryAuthFailed',
      `${message} ${session.hasCredentials ? "with the push secret's credentials" : 'without credentials (no push secret)'}`,
    );
  return new PlatformIndexError('PushImageFailed', message);
}
