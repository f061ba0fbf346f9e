/** Keys whose writes a JsonStore remembers when none is given: about a megabyte at most. */
export const DEFAULT_WRITES_KEPT = 10_000;

/** What a store last wrote to a key: the revision it wrote, or, for a deletion, the one it deleted. */
export interface WrittenRevision {
  revision: number;
  deleted: boolean;
}

/**
 * The revisions a store's own writes made, the newest `limit` keys' (the key written longest
 * ago is forgotten first). A read answered by a replica that is behind one of these is behind
 * this process's own write, and is read again from the leader: that is what gives a client
 * read-your-writes through one coordinator. A key forgotten (after `limit` other keys were
 * written since) falls back to whatever the replica answers.
 */
export class WrittenRevisions {
  private readonly written = new Map<string, WrittenRevision>();

  constructor(private readonly limit = DEFAULT_WRITES_KEPT) {}

  /** `key` now holds `revision`, written here. */
  wrote(key: string, revision: number): void {
    this.set(key, { revision, deleted: false });
  }

  /** `key`, at `revision`, was deleted here. */
  deleted(key: string, revision: number): void {
    this.set(key, { revision, deleted: true });
  }

  /**
   * Whether an answer for `key` (its revision; undefined: no value) is older than what was
   * written here: a deleted key answered with the value deleted or an older one, a written one
   * answered with no value or an older revision.
   */
  isBehind(key: string, answered: number | undefined): boolean {
    const mine = this.written.get(key);
    if (!mine) return false;
    if (mine.deleted) return answered !== undefined && answered <= mine.revision;
    return answered === undefined || answered < mine.revision;
  }

  /** Keys whose last write here left a value (not deleted), that `matches`: for listings that may miss them. */
  *present(matches: (key: string) => boolean): Iterable<string> {
    for (const [key, w] of this.written) if (!w.deleted && matches(key)) yield key;
  }

  private set(key: string, w: WrittenRevision): void {
    const known = this.written.get(key);
    // Writes to one key land in revision order; an answer that arrives late must not lower it.
    if (known && known.revision > w.revision) return;
    this.written.delete(key);
    this.written.set(key, w);
    if (this.written.size > this.limit) this.written.delete(this.written.keys().next().value!);
  }
}
