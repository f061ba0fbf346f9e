import { createHash } from 'node:crypto';
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import type { CanonicalImage } from '../../common/image-reference.js';
import { errorMessage } from '../../common/errors.js';
import { bearerFrom, challengeAnswer, registryBaseUrl } from '../../common/registry-client.js';
import { BuildFailure, PushImageFailedError, RegistryAuthFailedError } from '../build-failures.js';
import type { RegistryAuth } from '../container-runtime/types.js';

/** The builder's OCI image layout cannot be pushed as it is (no single image manifest, a missing blob). */
export class InvalidOutputLayoutError extends BuildFailure {
  readonly reason = 'InvalidOutputLayout';
  readonly phase = 'Failed';
}

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);

/** The files of an OCI image layout that are read: index.json and blobs/sha256/<hex>; the rest is skipped. */
const LAYOUT_FILE = /^(?:index\.json|oci-layout|blobs\/sha256\/[0-9a-f]{64})$/;

/**
 * Unpacks the tar of an OCI image layout folder (as the archive API gives `dir/.`) into `dir`,
 * keeping only index.json, oci-layout and blobs/sha256/<hex> (names checked, so nothing lands
 * outside `dir`). Returns whether an index.json was there.
 */
export async function unpackLayout(tar: AsyncIterable<Uint8Array>, dir: string): Promise<boolean> {
  const input = extract();
  let index = false;
  const done = (async () => {
    for await (const entry of input) {
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      if (entry.header.type === 'file' && LAYOUT_FILE.test(name)) {
        await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await pipeline(entry, createWriteStream(path.join(dir, name)));
        if (name === 'index.json') index = true;
      } else entry.resume();
    }
  })();
  await pipeline(tar, input).catch((err: unknown) => {
    throw new InvalidOutputLayoutError(`reading the output layout failed: ${errorMessage(err)}`, { cause: err });
  });
  await done;
  return index;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

/**
 * Pushes the one image of the OCI layout in `dir` to `image` (its tag): each blob the registry
 * lacks (config, layers), then the manifest, with `auth` (Basic, or a Bearer token for push).
 * Returns the manifest's digest as pushed.
 * @throws InvalidOutputLayoutError, RegistryAuthFailedError, PushImageFailedError
 */
export async function pushLayout(
  dir: string,
  image: CanonicalImage,
  auth: RegistryAuth | undefined,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<string> {
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8').catch(() => '{}')) as {
    manifests?: Descriptor[];
  };
  const manifests = (index.manifests ?? []).filter((m) => !m.mediaType || MANIFEST_TYPES.has(m.mediaType));
  if (manifests.length !== 1)
    throw new InvalidOutputLayoutError(
      `the output layout's index.json names ${manifests.length} image manifests; exactly one is pushed`,
    );
  const desc = manifests[0]!;
  const manifestBytes = await blob(dir, desc.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    mediaType?: string;
    config?: Descriptor;
    layers?: Descriptor[];
  };
  if (!manifest.config) throw new InvalidOutputLayoutError(`manifest ${desc.digest} names no config`);
  const client = new RegistryPush(image, auth, signal);
  for (const b of [manifest.config, ...(manifest.layers ?? [])]) {
    const file = blobPath(dir, b.digest);
    const size = await stat(file).then(
      (s) => s.size,
      () => {
        throw new InvalidOutputLayoutError(`the output layout lacks blob ${b.digest}`);
      },
    );
    if (await client.hasBlob(b.digest)) continue;
    onLine(`Pushing blob ${b.digest} (${size} bytes)`);
    await client.putBlob(b.digest, await openAsBlob(file));
  }
  const mediaType = desc.mediaType ?? manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
  await client.putManifest(image.tag, mediaType, manifestBytes);
  return `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
}

function blobPath(dir: string, digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new InvalidOutputLayoutError(`"${digest}" is not a sha256 digest`);
  return path.join(dir, 'blobs', 'sha256', m[1]!);
}

async function blob(dir: string, digest: string): Promise<Buffer> {
  const bytes = await readFile(blobPath(dir, digest)).catch(() => {
    throw new InvalidOutputLayoutError(`the output layout lacks blob ${digest}`);
  });
  if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== digest)
    throw new InvalidOutputLayoutError(`blob ${digest} of the output layout does not match its digest`);
  return bytes;
}

/** The few Registry HTTP API V2 calls a push makes, answering the registry's auth challenge once. */
class RegistryPush {
  private readonly base: string;
  private authorization: string | undefined;

  constructor(
    private readonly image: CanonicalImage,
    private readonly auth: RegistryAuth | undefined,
    private readonly signal: AbortSignal,
  ) {
    this.base = registryBaseUrl(image.registry);
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.call('HEAD', `/v2/${this.image.repository}/blobs/${digest}`);
    return res.ok;
  }

  async putBlob(digest: string, body: Blob): Promise<void> {
    const start = await this.call('POST', `/v2/${this.image.repository}/blobs/uploads/`);
    if (start.status !== 202) throw await this.refused(start, `starting the upload of ${digest}`);
    const location = new URL(start.headers.get('location') ?? '', this.base);
    location.searchParams.set('digest', digest);
    const res = await this.call('PUT', location.toString(), body, 'application/octet-stream');
    if (res.status !== 201) throw await this.refused(res, `uploading ${digest}`);
  }

  async putManifest(tag: string, mediaType: string, body: Buffer): Promise<void> {
    const res = await this.call(
      'PUT',
      `/v2/${this.image.repository}/manifests/${encodeURIComponent(tag)}`,
      new Blob([new Uint8Array(body)]),
      mediaType,
    );
    if (res.status !== 201) throw await this.refused(res, `putting the manifest at tag ${tag}`);
  }

  /** RegistryAuthFailed for a 401 or 403, else PushImageFailed, with what the registry said. */
  private async refused(res: Response, what: string): Promise<BuildFailure> {
    const text = (await res.text().catch(() => '')).slice(0, 300).trim();
    const message = `${this.image.registry} refused ${what} for ${this.image.repository} (${res.status})${text ? `: ${text}` : ''}`;
    if (res.status === 401 || res.status === 403)
      return new RegistryAuthFailedError(
        `${message} ${this.auth ? "with the push secret's credentials" : 'without credentials (no push secret)'}`,
      );
    return new PushImageFailedError(message);
  }

  private async call(method: string, url: string, body?: Blob, type?: string): Promise<Response> {
    const send = () =>
      fetch(new URL(url, this.base), {
        method,
        body,
        headers: {
          ...(type ? { 'content-type': type } : {}),
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
        signal: this.signal,
      });
    try {
      let res = await send();
      if (res.status === 401 && !this.authorization) {
        this.authorization = await this.answer(res.headers.get('www-authenticate') ?? '');
        if (this.authorization) res = await send();
      }
      return res;
    } catch (err) {
      if (this.signal.aborted || err instanceof BuildFailure) throw err;
      throw new PushImageFailedError(`pushing to ${this.image.registry} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** The Authorization a 401's challenge asks for: Basic, or a Bearer token for pull and push. */
  private async answer(challenge: string): Promise<string | undefined> {
    let answer;
    try {
      answer = challengeAnswer(challenge, this.image.repository, 'pull,push', this.auth);
    } catch {
      return undefined;
    }
    if (!answer || 'authorization' in answer) return answer?.authorization;
    const res = await fetch(answer.tokenUrl, {
      headers: answer.basic ? { authorization: answer.basic } : {},
      signal: this.signal,
    });
    return res.ok ? bearerFrom(res) : undefined;
  }
}
