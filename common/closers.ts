/** Stops or releases one thing that was started. */
export type Closer = () => unknown;

/**
 * A stack of closers, unwound once: the shape of Go's `defer` or of `AsyncDisposableStack`
 * (which Node 20 lacks). Each thing that starts pushes its closer; a failed start-up or a stop
 * calls `close()`, which runs them newest first, each awaited before the next, so a thing
 * started later (and perhaps using an earlier one) is closed before what it uses.
 */
export class Closers {
  private readonly stack: Closer[] = [];
  private closing: Promise<void> | undefined;

  /**
   * Pushes `closer`, to run before every closer pushed earlier. Throws once `close()` was called:
   * a thing started while its stack unwinds would never be closed.
   */
  defer(closer: Closer): void {
    if (this.closing) throw new Error('a closer was pushed after its stack was closed');
    this.stack.push(closer);
  }

  /**
   * Runs every closer once, newest first. A closer that throws or rejects does not stop the
   * ones after it. Resolves when all have run; rejects, after all have run, with the error of
   * the one that failed, or an AggregateError (newest first) when several did. Calling it again
   * returns the same promise: nothing runs twice.
   */
  close(): Promise<void> {
    this.closing ??= this.unwind();
    return this.closing;
  }

  private async unwind(): Promise<void> {
    const failures: unknown[] = [];
    for (let closer = this.stack.pop(); closer; closer = this.stack.pop()) {
      try {
        await closer();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} closers failed`);
  }
}
