/**
 * Which images the agent's running builds use (their output, the images they start FROM, their
 * builder), and when each was last used. The node's image GC never removes an image in use and
 * counts an image's age from its last use, as the kubelet does.
 */
export class ImagesInUse {
  private readonly held = new Map<string, Set<string>>();
  private readonly lastUsed = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Marks `references` as used by `build` until `release(build)`. */
  hold(build: string, references: string[]): void {
    const set = this.held.get(build) ?? new Set<string>();
    for (const r of references) set.add(r);
    this.held.set(build, set);
  }

  /** The build ended: its images are no longer in use, and were last used now. */
  release(build: string): void {
    const at = this.now();
    for (const r of this.held.get(build) ?? []) this.lastUsed.set(r, at);
    this.held.delete(build);
  }

  /** References running builds hold. */
  references(): string[] {
    return [...new Set([...this.held.values()].flatMap((s) => [...s]))];
  }

  /** When each reference a finished build used was last used. */
  lastUse(): ReadonlyMap<string, number> {
    return this.lastUsed;
  }

  /** Forgets last uses older than `ms` (they no longer make an image younger than its creation). */
  forgetOlderThan(ms: number): void {
    const before = this.now() - ms;
    for (const [r, at] of this.lastUsed) if (at < before) this.lastUsed.delete(r);
  }
}
