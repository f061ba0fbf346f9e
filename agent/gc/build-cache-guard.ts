import { AbortedError } from '../../common/errors.js';

/** What a prune under the guard came to: its result, or that builds kept it waiting too long. */
export type GuardedPrune<T> = { ran: true; value: T } | { ran: false; waitedMs: number; loading: number };

/**
 * Keeps the image GC's build-cache prune (`POST /build/prune`) away from builds whose uploaded
 * context BuildKit holds in no way yet.
 *
 * Why (dockerd 20.10, BuildKit 0.8; `POST /build?version=2` with the context as the tar body):
 * the daemon hands the body to BuildKit as an HTTP source that can be read once. BuildKit reads
 * it into a new cache record while working out the source's cache key (in use while it is
 * written), then lets go of the record, and takes it again by id a moment later to use it. A
 * prune in between removes the record whatever the minimum age (`until` keeps only records with
 * a recent last use, and this one has none yet: under a prune loop with `until=120s`, the GC's
 * default, every build failed on dockerd 20.10), BuildKit asks for the body again, and the build
 * fails "failed to read downloaded context: … context not found". Once the Dockerfile frontend
 * has the context as a solved result, the build holds it until it ends; the frontend asks for
 * nothing else before that, so the first step of the build that is not the context's
 * (`BuildEvent` `context-held`) shows it.
 *
 * So a build holds the guard from before it sends its context until then (`holdContext`), and a
 * prune runs only while no build does (`whilePruning`); builds that come during a prune wait for
 * it to end. One guard serves an agent's builds and its GC, whatever daemon each is on: the GC
 * collects on one daemon, and a hold by a build on another only makes it wait a little.
 * Everything is in memory: a hold costs a build no call to the daemon. It cannot keep a prune by
 * another process (another agent, a person) off a shared daemon.
 */
export class BuildCacheGuard {
  /** Builds about to send their context (some waiting for a prune to end) or sending it, not held by BuildKit yet. */
  private loading = 0;
  /** Resolved when the running prune ends; undefined when none runs. */
  private pruning: Promise<void> | undefined;
  /** Called when `loading` falls to 0. */
  private readonly idle = new Set<() => void>();

  /**
   * Holds the guard for a build about to send its context: no prune starts until the returned
   * release is called (call it when the daemon reports `context-held`, and again, harmlessly,
   * whenever the build ends). Waits while a prune runs.
   * @throws AbortedError when `signal` aborts while waiting.
   */
  async holdContext(signal?: AbortSignal): Promise<() => void> {
    // Counted before waiting: no new prune starts from now on (one running ends first), so a
    // GC that prunes again and again cannot keep a build out.
    this.loading++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      if (--this.loading === 0) for (const wake of [...this.idle]) wake();
    };
    try {
      while (this.pruning) await abortable(this.pruning, signal);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /**
   * Runs `prune` once no build holds the guard (or waits for it), holding off builds until it
   * ends. Waits at most `waitMs` for the builds that hold it (new ones may take it meanwhile: the
   * wait is for a moment when none does).
   * @returns what `prune` returned, or, when no such moment came within `waitMs`, that it did not
   *   run and how many builds held the guard then. Throws what `prune` throws.
   */
  async whilePruning<T>(prune: () => Promise<T>, waitMs: number): Promise<GuardedPrune<T>> {
    const started = Date.now();
    for (;;) {
      // Another prune through this guard ends first (a GC runs one round at a time: for safety).
      if (this.pruning) {
        await this.pruning;
        continue;
      }
      if (this.loading === 0) break;
      const left = waitMs - (Date.now() - started);
      if (left <= 0 || !(await this.untilIdle(left))) {
        return { ran: false, waitedMs: Date.now() - started, loading: this.loading };
      }
    }
    // No await between the checks above and this: no build holds the guard, and one that comes
    // now waits for the prune before it sends its context.
    let ended!: () => void;
    this.pruning = new Promise((resolve) => (ended = resolve));
    try {
      return { ran: true, value: await prune() };
    } finally {
      this.pruning = undefined;
      ended();
    }
  }

  /** Resolves true when no build holds the guard, false after `ms`. */
  private untilIdle(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.idle.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idle.delete(wake);
        resolve(false);
      }, ms);
      this.idle.add(wake);
    });
  }
}

function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new AbortedError('aborted while a build-cache prune ran'));
  return new Promise((resolve, reject) => {
    const abort = () => reject(new AbortedError('aborted while a build-cache prune ran'));
    signal.addEventListener('abort', abort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    });
  });
}
