import { Closers } from '../../common/closers.js';

/**
 * What the helpers need of a test: somewhere to register clean-up. ava's ExecutionContext is
 * one; the benchmarks (bench/) bring a TeardownStack.
 */
export interface Teardowns {
  teardown(fn: () => unknown): void;
}

/** Clean-ups run last registered first, as ava runs a test's teardowns (a stack of Closers). */
export class TeardownStack implements Teardowns {
  private readonly closers = new Closers();

  teardown(fn: () => unknown): void {
    this.closers.defer(fn);
  }

  /** Runs every clean-up once, even when one fails; rejects with the failure(s) once all have run. */
  run(): Promise<void> {
    return this.closers.close();
  }
}
