/**
 * What this agent holds warm, newest first: the configs (`namespace/name`) it built and the base
 * images their builds used. Advertised in heartbeats for placement's cache affinity; bounded, so
 * the oldest fall off.
 */
export class WarmSet {
  private readonly configs: string[] = [];
  private readonly images: string[] = [];

  constructor(private readonly max = 50) {}

  /** A build of `config` finished here, having used `images`. */
  built(config: string, images: readonly string[]): void {
    touch(this.configs, [config], this.max);
    touch(this.images, images, this.max);
  }

  get advertised(): { configs: string[]; images: string[] } {
    return { configs: [...this.configs], images: [...this.images] };
  }
}

/** Moves `values` to the front of `list`, keeping at most `max`. */
function touch(list: string[], values: readonly string[], max: number): void {
  for (const v of [...values].reverse()) {
    const i = list.indexOf(v);
    if (i >= 0) list.splice(i, 1);
    list.unshift(v);
  }
  list.splice(max);
}
