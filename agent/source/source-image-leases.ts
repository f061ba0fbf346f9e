/**
 * The images an agent pulled to copy sources out of, and which of its builds use each now. A
 * source image is not labelled by a build, so on a daemon the agent shares with the node its
 * image GC would never remove it: whoever pulled it must. It is removed when the last build that
 * uses it is done with it, and only when the agent pulled it (an image that was on the daemon
 * before stays). A build that starts using an image while its removal runs waits for the removal
 * to end, then finds the image gone and pulls it again.
 */
export class SourceImageLeases {
  private readonly users = new Map<string, number>();
  private readonly pulled = new Set<string>();
  private readonly removing = new Map<string, Promise<void>>();

  /** Marks `key` (a daemon and an image reference) as used by one more build, once a removal under way has ended. */
  async acquire(key: string): Promise<void> {
    for (let pending = this.removing.get(key); pending; pending = this.removing.get(key)) await pending;
    this.users.set(key, (this.users.get(key) ?? 0) + 1);
  }

  /** The image of `key` was pulled by a build holding it: the last user removes it. */
  markPulled(key: string): void {
    this.pulled.add(key);
  }

  /**
   * One build is done with `key`. When it was the last and the agent pulled the image, `remove`
   * runs (its failure is the caller's to log: the image is forgotten either way).
   */
  async release(key: string, remove: () => Promise<void>): Promise<void> {
    const left = (this.users.get(key) ?? 1) - 1;
    if (left > 0) {
      this.users.set(key, left);
      return;
    }
    this.users.delete(key);
    if (!this.pulled.delete(key)) return;
    const removal = remove().finally(() => this.removing.delete(key));
    this.removing.set(
      key,
      removal.catch(() => {}),
    );
    await removal;
  }

  /** Keys some build uses now (for tests). */
  inUse(): string[] {
    return [...this.users.keys()];
  }
}
