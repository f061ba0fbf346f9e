import { createHash } from 'node:crypto';
import { SlipwayError } from './errors.js';
import { DOCKER_HUB, formatCanonicalImage, type CanonicalImage } from './image-reference.js';

/**
 * Asking a registry (Docker Registry HTTP API V2) which manifest a tag names, as a daemon's pull
 * would: HEAD /v2/<repository>/manifests/<tag> accepting every manifest type (so a manifest list
 * or OCI index is answered as itself, with the digest a push of it reported), then GET when the
 * registry sends no Docker-Content-Digest. Authentication follows the registry's challenge:
 * Basic with the credentials, or Bearer with a token from the challenge's realm (asked with the
 * credentials, or anonymously).
 */

export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

/** The registry could not say what the tag is (unreachable, refused, or answered nonsense). */
export class ImageResolveError extends SlipwayError {
  readonly reason = 'ImageResolveFailed';
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface ResolveOptions {
  /** For the registry the image is on; never sent anywhere else but the registry's token realm. */
  credentials?: RegistryCredentials;
  /** Registries spoken to over plain HTTP (hosts as registryHostKey gives them); loopback always is. */
  insecureRegistries?: readonly string[];
  signal?: AbortSignal;
  /** Per request. */
  timeoutMs?: number;
}

/** Whether `registry` is spoken to over plain HTTP: loopback hosts (as dockerd treats them) and the insecure list. */
export function usesPlainHttp(registry: string, insecure: readonly string[] = []): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0]!;
  return insecure.includes(registry) || host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

/** The base URL of the registry's API. */
export function registryBaseUrl(registry: string, insecure: readonly string[] = []): string {
  const host = registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
  return `${usesPlainHttp(registry, insecure) ? 'http' : 'https'}://${host}`;
}

/**
 * The digest of the manifest `image`'s tag names now, or undefined when the registry has no
 * such tag (404).
 * @throws ImageResolveError for anything else (its message names the image, never credentials).
 */
export async function resolveManifestDigest(
  image: CanonicalImage,
  o: ResolveOptions = {},
): Promise<string | undefined> {
  const url = `${registryBaseUrl(image.registry, o.insecureRegistries)}/v2/${image.repository}/manifests/${encodeURIComponent(image.tag)}`;
  const name = formatCanonicalImage(image);
  const ask = async (method: 'HEAD' | 'GET', authorization?: string): Promise<Response> => {
    try {
      return await fetch(url, {
        method,
        headers: { accept: MANIFEST_ACCEPT, ...(authorization ? { authorization } : {}) },
        signal: signalWithTimeout(o.signal, o.timeoutMs ?? 10_000),
        redirect: 'follow',
      });
    } catch (err) {
      throw new ImageResolveError(`asking ${image.registry} for ${name}: ${(err as Error).message}`, { cause: err });
    }
  };
  let authorization: string | undefined;
  let res = await ask('HEAD');
  if (res.status === 401) {
    authorization = await answerChallenge(res.headers.get('www-authenticate') ?? '', image, o);
    if (authorization) res = await ask('HEAD', authorization);
  }
  if (res.status === 404) return undefined;
  if (res.status === 401 || res.status === 403) {
    throw new ImageResolveError(
      `${image.registry} refused to say what ${name} is ${o.credentials ? "with the pull secret's credentials" : 'without credentials (no pull secret)'} (${res.status})`,
    );
  }
  if (!res.ok) throw new ImageResolveError(`${image.registry} answered ${res.status} for ${name}`);
  const digest = res.headers.get('docker-content-digest');
  if (digest) return digest;
  // Some registries send the digest only with the body: compute it from the manifest's bytes.
  const got = await ask('GET', authorization);
  if (!got.ok) throw new ImageResolveError(`${image.registry} answered ${got.status} for ${name}`);
  const body = Buffer.from(await got.arrayBuffer());
  return got.headers.get('docker-content-digest') ?? contentDigest(body);
}

/** The digest a registry stores `bytes` under (a blob's, a manifest's): `sha256:<hex>`. */
export function contentDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * How to answer a registry's 401 challenge (its WWW-Authenticate) for `actions` on `repository`:
 * the Authorization header itself for a Basic challenge (undefined without credentials), or for
 * a Bearer one the token realm's URL to ask (service and scope set) with the Basic header to ask
 * it with. Undefined when the challenge cannot be answered (another scheme, no realm).
 * @throws TypeError when the realm is not a URL
 */
export function challengeAnswer(
  challenge: string,
  repository: string,
  actions: 'pull' | 'pull,push',
  credentials?: RegistryCredentials,
): { authorization: string | undefined } | { tokenUrl: URL; basic: string | undefined } | undefined {
  const basic = credentials
    ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
    : undefined;
  const scheme = challenge.split(/\s+/, 1)[0]!.toLowerCase();
  if (scheme === 'basic') return { authorization: basic };
  if (scheme !== 'bearer') return undefined;
  const params = Object.fromEntries(
    [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]),
  );
  if (!params.realm) return undefined;
  const tokenUrl = new URL(params.realm);
  if (params.service) tokenUrl.searchParams.set('service', params.service);
  tokenUrl.searchParams.set('scope', `repository:${repository}:${actions}`);
  return { tokenUrl, basic };
}

/** The Bearer Authorization header a token realm's answer gives, or undefined when it holds no token. */
export async function bearerFrom(res: Response): Promise<string | undefined> {
  const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  return token ? `Bearer ${token}` : undefined;
}

/** The Authorization header a 401's challenge asks for, or undefined when it cannot be answered. */
async function answerChallenge(
  challenge: string,
  image: CanonicalImage,
  o: ResolveOptions,
): Promise<string | undefined> {
  let answer;
  try {
    answer = challengeAnswer(challenge, image.repository, 'pull', o.credentials);
  } catch {
    throw new ImageResolveError(`${image.registry} sent a token realm that is not a URL`);
  }
  if (!answer || 'authorization' in answer) return answer?.authorization;
  const { tokenUrl: realm, basic } = answer;
  let res: Response;
  try {
    res = await fetch(realm, {
      headers: basic ? { authorization: basic } : {},
      signal: signalWithTimeout(o.signal, o.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new ImageResolveError(
      `asking ${realm.host} for a token for ${formatCanonicalImage(image)}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!res.ok) {
    throw new ImageResolveError(
      `${realm.host} refused a token for ${formatCanonicalImage(image)} ${o.credentials ? "with the pull secret's credentials" : 'without credentials (no pull secret)'} (${res.status})`,
    );
  }
  return bearerFrom(res);
}

function signalWithTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}
