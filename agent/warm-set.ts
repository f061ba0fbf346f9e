/**
 * What this agent holds warm, newest first: the configs (`namespace/name`) it built and the
 * images their builds used (their outputs, the images they started FROM, their builders).
 * Advertised in heartbeats for placement's cache affinity; bounded, so the oldest fall off.
 *
 * What image GC takes off the daemon stops being warm (`forgetMissing`): an image that is gone,
 * and a config whose output image is gone. GC removes an output only once it has gone unused for
 * its minimum age, and prunes the build cache unused for that long before it removes images, so
 * by then the config's BuildKit cache is gone as well.
 */
export class WarmSet {
  /** Config → its last build's output image, newest first (a Map keeps insertion order). */
  private readonly configs = new Map<string, string | undefined>();
  private readonly images = new Map<string, number>();
  /** Counts touches: an entry touched again while `forgetMissing` looked at the daemon stays. */
  private touches = 0;

  constructor(private readonly max = 50) {}

  /**
   * A build of `config` finished here, having used `images`; the first of them is its output
   * (build-runner names it first, before it fetches anything).
   */
  built(config: string, images: readonly string[]): void {
    this.configs.delete(config);
    this.configs.set(config, images[0]);
    trim(this.configs, this.max);
    // Inserted last to first, so that the first is the newest, as given.
    for (const image of [...images].reverse()) {
      this.images.delete(image);
      this.images.set(image, ++this.touches);
    }
    trim(this.images, this.max);
  }

  get advertised(): { configs: string[]; images: string[] } {
    return { configs: [...this.configs.keys()].reverse(), images: [...this.images.keys()].reverse() };
  }

  /**
   * Forgets the images `present` says the daemon no longer has, and the configs whose output
   * image is among them. An image used again by a build that ends while the daemon is asked
   * stays. A failed question counts as present: only what is known gone is forgotten.
   * @returns how many entries (configs and images) were forgotten.
   */
  async forgetMissing(present: (reference: string) => Promise<boolean>): Promise<number> {
    const asked = [...this.images];
    const gone = new Set<string>();
    for (const [image] of asked) if (!(await present(image).catch(() => true))) gone.add(image);
    let forgotten = 0;
    for (const [image, touch] of asked) {
      if (gone.has(image) && this.images.get(image) === touch) {
        this.images.delete(image);
        forgotten++;
      }
    }
    for (const [config, output] of this.configs) {
      if (output !== undefined && gone.has(output) && !this.images.has(output)) {
        this.configs.delete(config);
        forgotten++;
      }
    }
    return forgotten;
  }
}

/** Drops the oldest entries (the first inserted) past `max`. */
function trim(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
