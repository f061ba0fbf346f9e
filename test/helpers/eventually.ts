/** How long `eventually` waits, and how often it checks. */
export interface EventuallyOptions {
  /** Give up after this long; default 20 s. */
  timeoutMs?: number;
  /** Pause between two checks; default 100 ms. */
  intervalMs?: number;
  /** What to add to the timeout's message: the state last seen, to tell why it never held. */
  detail?: () => unknown;
}

/**
 * Waits for a condition: calls `check` (first at once, then every `intervalMs`, default 100 ms)
 * until it returns anything but `false`, `undefined` or `null`, and resolves to that value, so a
 * check can hand back what it found. After `timeoutMs` (default 20 s) it rejects with
 * `timed out after N ms waiting for <what>`, followed by `detail()` when given. A check that
 * throws ends the wait with that error: a check that should survive failures catches them.
 * No timing is asserted: this is how tests synchronise with what runs beside them, never a sleep.
 */
export async function eventually<T>(
  what: string,
  check: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  options: EventuallyOptions = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 100 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined && value !== null) return value;
    if (Date.now() >= deadline) {
      const detail = options.detail ? `; last seen: ${format(await options.detail())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function format(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A build as the API answers it, for `buildUntil`. */
interface BuildView {
  metadata?: { name?: string } | null;
  status?: unknown;
}

/**
 * Reads a build (`read`) until `done` holds for it, and resolves to that reading; on the timeout
 * (default 30 s) the message names `what` and the build's status as last read.
 */
export async function buildUntil<B extends BuildView>(
  read: () => Promise<B>,
  done: (b: B) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<B> {
  let last: B | undefined;
  return eventually(
    `the build to have ${what}`,
    async () => {
      last = await read();
      return done(last) && last;
    },
    { timeoutMs, detail: () => `${last?.metadata?.name}: ${JSON.stringify(last?.status)}` },
  );
}
