import { BuildConfigNotFoundError, errorMessage, InvalidInputError } from '../../common/errors.js';
import { canonicalImage, formatCanonicalImage, sameImage, type CanonicalImage } from '../../common/image-reference.js';
import type { Logger } from '../../common/log.js';
import type { Build, BuildConfig, BuildConfigSpec, BuildConfigStatus, Versioned } from '../../api/types.js';
import type { BuildApi } from '../builds/build-api.js';

/**
 * ImageChange triggers: a config whose trigger watches an image gets one build per new digest
 * of that image's tag. What a trigger saw is recorded per watched image in
 * `status.imageTriggers[{from, lastDigest}]`, in the same compare-and-set that numbers the
 * build (BuildApi.startBuildIf), so a digest starts at most one build of a config however many
 * notifications, polls and coordinators report it.
 *
 * New digests come from the registry's own notifications (registry-notifications.ts) and from
 * polling the registries (image-poller.ts); both end in `digestChanged`.
 */

/** One image a config's ImageChange triggers watch. */
export interface WatchedImage {
  /** As the config names it: the trigger's `from`, or the strategy's image. */
  from: string;
  image: CanonicalImage;
}

/** The images a config's ImageChange triggers watch, each once (two triggers may name one tag). */
export function watchedImages(spec: BuildConfigSpec): WatchedImage[] {
  const watched: WatchedImage[] = [];
  for (const t of spec.triggers ?? []) {
    if (t.type !== 'ImageChange') continue;
    const from =
      t.imageChange?.from ??
      spec.strategy.docker?.from ??
      spec.strategy.source?.builderImage ??
      spec.strategy.custom?.image;
    if (!from) continue; // validation refuses this; a stored config from before is skipped
    const image = canonicalImage(from);
    if (typeof image === 'string') continue;
    if (!watched.some((w) => sameImage(w.image, image))) watched.push({ from, image });
  }
  return watched;
}

/**
 * The pull secret to ask `image`'s registry with: that of a source image (source.images) naming
 * the image, else the strategy's. Undefined: none. The poller sends it only to its own registry.
 */
export function watchedImagePullSecret(spec: BuildConfigSpec, image: CanonicalImage): string | undefined {
  const source = spec.source.images?.find((i) => {
    const c = canonicalImage(i.from);
    return typeof c !== 'string' && sameImage(c, image);
  });
  return source
    ? source.pullSecret?.name
    : (spec.strategy.docker ?? spec.strategy.source ?? spec.strategy.custom)?.pullSecret?.name;
}

/** The digest recorded for `image` in the config's status, if any. */
export function recordedDigest(config: BuildConfig, image: CanonicalImage): string | undefined {
  return config.status.imageTriggers?.find((r) => {
    const c = canonicalImage(r.from);
    return typeof c !== 'string' && sameImage(c, image);
  })?.lastDigest;
}

/**
 * The config's status with `digest` recorded for `image`, records of images no longer watched
 * dropped.
 */
function withDigest(config: BuildConfig, watched: WatchedImage, digest: string): BuildConfigStatus {
  const still = watchedImages(config.spec);
  const kept = (config.status.imageTriggers ?? []).filter((r) => {
    const c = canonicalImage(r.from);
    return typeof c !== 'string' && !sameImage(c, watched.image) && still.some((w) => sameImage(w.image, c));
  });
  return { ...config.status, imageTriggers: [...kept, { from: watched.from, lastDigest: digest }] };
}

/**
 * The decide hook for a new digest of `image` (pure; it runs inside the compare-and-set):
 * declines when the config no longer watches the image, or already recorded this digest;
 * with `expectedLastDigest` (the poller: what was recorded when it read the config, before it
 * asked the registry; null for nothing), also when the record changed since, because then its
 * answer may be older than what someone else recorded meanwhile.
 */
export function decideImageChange(
  config: BuildConfig,
  image: CanonicalImage,
  digest: string,
  expectedLastDigest?: string | null,
): BuildConfigStatus | undefined {
  const watched = watchedImages(config.spec).find((w) => sameImage(w.image, image));
  if (!watched) return undefined;
  const recorded = recordedDigest(config, image);
  if (recorded === digest) return undefined;
  if (expectedLastDigest !== undefined && (recorded ?? null) !== expectedLastDigest) return undefined;
  return withDigest(config, watched, digest);
}

/**
 * The status with `digest` recorded as the baseline of `image`, when nothing is recorded for it
 * yet (the first digest a poll sees is not a change, so it starts nothing); undefined otherwise.
 */
export function baselineStatus(
  config: BuildConfig,
  image: CanonicalImage,
  digest: string,
): BuildConfigStatus | undefined {
  const watched = watchedImages(config.spec).find((w) => sameImage(w.image, image));
  if (!watched || recordedDigest(config, image) !== undefined) return undefined;
  return withDigest(config, watched, digest);
}

/** A tag a registry says was pushed; `registries` are the names the registry goes by (registryHostKey). */
export interface PushedTag {
  registries: string[];
  repository: string;
  tag: string;
}

export function isPushedTag(image: CanonicalImage, pushed: PushedTag): boolean {
  return (
    pushed.registries.includes(image.registry) && image.repository === pushed.repository && image.tag === pushed.tag
  );
}

/** How a new digest was learnt. */
export type DigestSource = 'registry notification' | 'registry poll';

export class ImageChangeTriggers {
  constructor(
    private readonly builds: BuildApi,
    private readonly log: Logger,
  ) {}

  /**
   * `pushed` is at `digest` now (a registry said so): starts a build of every config that
   * watches that tag and has not recorded that digest. Returns the builds started.
   * @throws what the store throws (NATS unavailable): the caller should try again later.
   */
  async digestChanged(pushed: PushedTag, digest: string, source: DigestSource): Promise<Build[]> {
    const { items } = await this.builds.snapshotBuildConfigs();
    const started: Build[] = [];
    for (const config of items) {
      const watched = watchedImages(config.value.spec).find((w) => isPushedTag(w.image, pushed));
      if (!watched) continue;
      const build = await this.startBuild(config, watched.image, digest, source);
      if (build) started.push(build);
    }
    return started;
  }

  /**
   * Starts one build of `config` for `digest` of `image` unless decideImageChange declines
   * (see there for `expectedLastDigest`). A config deleted meanwhile starts nothing.
   */
  async startBuild(
    config: Versioned<BuildConfig>,
    image: CanonicalImage,
    digest: string,
    source: DigestSource,
    expectedLastDigest?: string | null,
  ): Promise<Build | undefined> {
    const { namespace, name } = config.value.metadata;
    const from =
      watchedImages(config.value.spec).find((w) => sameImage(w.image, image))?.from ?? formatCanonicalImage(image);
    try {
      const started = await this.builds.startBuildIf({
        namespace,
        configName: name,
        cause: {
          type: 'ImageChange',
          message: `${from} changed to ${digest} (${source})`,
          imageChange: { image: from, digest },
        },
        pinImage: { image: from, digest },
        decide: (c) => decideImageChange(c, image, digest, expectedLastDigest),
      });
      if (started)
        this.log.info('image change started a build', {
          namespace,
          config: name,
          build: started.value.metadata.name,
          image: from,
          digest,
          source,
        });
      return started?.value;
    } catch (err) {
      if (err instanceof BuildConfigNotFoundError) return undefined;
      if (err instanceof InvalidInputError) {
        // This config cannot be started this way (e.g. it builds uploaded contexts): trying again will not help.
        this.log.warn('image change cannot start a build of this config', {
          namespace,
          config: name,
          image: from,
          digest,
          error: errorMessage(err),
        });
        return undefined;
      }
      this.log.warn('image change could not start a build', {
        namespace,
        config: name,
        image: from,
        digest,
        error: errorMessage(err),
      });
      throw err;
    }
  }
}
