import { errorMessage } from '../../common/errors.js';
import { formatCanonicalImage, registryHostKey, type CanonicalImage } from '../../common/image-reference.js';
import type { Logger } from '../../common/log.js';
import { sleepUnlessAborted } from '../../common/sleep.js';
import type { BuildConfig, Versioned } from '../../api/types.js';
import type { BuildApi } from '../builds/build-api.js';
import type { SecretStore } from '../secrets/secret-store.js';
import {
  baselineStatus,
  recordedDigest,
  watchedImagePullSecret,
  watchedImages,
  type ImageChangeTriggers,
} from './image-change.js';
import { resolveManifestDigest, type RegistryCredentials } from '../../common/registry-client.js';

/** Registry requests a round has in flight at most. */
export const MAX_CONCURRENT_ASKS = 8;

export interface ImagePollerOptions {
  /** Time between rounds (SLIPWAY_IMAGE_POLL_INTERVAL_MS). */
  intervalMs: number;
  /** Registries asked over plain HTTP besides loopback ones (SLIPWAY_INSECURE_REGISTRIES). */
  insecureRegistries: readonly string[];
  log: Logger;
}

/**
 * The fallback for registries that cannot notify: every interval, asks each watched image's
 * registry which digest its tag names, and hands a digest other than the one recorded to the
 * ImageChange triggers. Every coordinator polls; the compare-and-set in startBuildIf makes each
 * digest one build.
 *
 * - The first digest seen for a watched image with nothing recorded is recorded as the baseline
 *   and starts nothing: a new config (or trigger) is not a change of its image. A registry
 *   notification of a new digest does start a build, recorded or not.
 * - A poll's answer may be older than a digest someone recorded while it was asking (a
 *   notification, another coordinator's poll): each build is decided against the digest the
 *   round read before it asked, and declined when the record changed since.
 * - A source image's pull secret is used for it, else the strategy's, when the secret is for
 *   that image's registry; it is never sent to another registry.
 */
export class ImagePoller {
  /** The last failure logged per image, so a registry that stays down is logged once. */
  private readonly failures = new Map<string, string>();

  constructor(
    private readonly builds: BuildApi,
    private readonly triggers: ImageChangeTriggers,
    private readonly secrets: SecretStore,
    private readonly o: ImagePollerOptions,
  ) {}

  /** Polls until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.round(signal);
      } catch (err) {
        if (!signal.aborted) this.o.log.warn('image poll round failed', { error: errorMessage(err) });
      }
      await sleepUnlessAborted(this.o.intervalMs, signal);
    }
  }

  /** One round: every watched image asked once (per pull secret), every config decided. */
  async round(signal?: AbortSignal): Promise<void> {
    const { items } = await this.builds.snapshotBuildConfigs();
    const digests = new Map<string, Promise<string | undefined>>();
    const asking = limit(MAX_CONCURRENT_ASKS);
    const work: Promise<void>[] = [];
    for (const config of items) {
      for (const watched of watchedImages(config.value.spec)) {
        const secret = watchedImagePullSecret(config.value.spec, watched.image);
        const key = `${formatCanonicalImage(watched.image)} ${secret ? `${config.value.metadata.namespace}/${secret}` : ''}`;
        if (!digests.has(key))
          digests.set(
            key,
            asking(() => this.resolve(watched.image, config.value.metadata.namespace, secret, signal)),
          );
        work.push(
          digests.get(key)!.then((digest) => (digest ? this.decide(config, watched.image, digest) : undefined)),
        );
      }
    }
    const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private async decide(config: Versioned<BuildConfig>, image: CanonicalImage, digest: string): Promise<void> {
    // What was recorded when the round read the config: before the registry was asked.
    const recorded = recordedDigest(config.value, image);
    if (recorded === digest) return;
    const { namespace, name } = config.value.metadata;
    if (recorded === undefined) {
      const done = await this.builds.updateBuildConfigStatus(namespace, name, (c) => baselineStatus(c, image, digest));
      if (done)
        this.o.log.debug('image poll recorded a baseline digest', {
          namespace,
          config: name,
          image: formatCanonicalImage(image),
          digest,
        });
      return;
    }
    await this.triggers.startBuild(config, image, digest, 'registry poll', recorded);
  }

  /** The digest, or undefined when the tag is not there or the registry could not be asked (logged). */
  private async resolve(
    image: CanonicalImage,
    namespace: string,
    secretName: string | undefined,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const name = formatCanonicalImage(image);
    try {
      const credentials = secretName ? await this.credentials(image, namespace, secretName) : undefined;
      const digest = await resolveManifestDigest(image, {
        credentials,
        insecureRegistries: this.o.insecureRegistries,
        signal,
      });
      if (this.failures.delete(name)) this.o.log.info('image poll reaches the image again', { image: name });
      return digest;
    } catch (err) {
      if (signal?.aborted) return undefined;
      const message = errorMessage(err);
      if (this.failures.get(name) !== message)
        this.o.log.warn('image poll could not resolve an image', { image: name, error: message });
      this.failures.set(name, message);
      return undefined;
    }
  }

  private async credentials(
    image: CanonicalImage,
    namespace: string,
    name: string,
  ): Promise<RegistryCredentials | undefined> {
    const secret = await this.secrets.reveal(namespace, name);
    if (!secret || secret.type !== 'docker-registry' || registryHostKey(secret.registry) !== image.registry)
      return undefined;
    return { username: secret.username, password: secret.password };
  }
}

/** Runs the functions it is given at most `n` at a time, in the order given. */
function limit(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    // A finishing call hands its slot to the next waiting one, so `running` never passes n.
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
