/**
 * What the helpers need of a test: somewhere to register clean-up. ava's ExecutionContext is
 * one; the benchmarks (bench/) bring a TeardownStack.
 */
export interface Teardowns {
  teardown(fn: () => unknown): void;
}

/** Clean-ups run last registered first, as ava runs a test's teardowns. */
export class TeardownStack implements Teardowns {
  private readonly fns: (() => unknown)[] = [];

  teardown(fn: () => unknown): void {
    this.fns.push(fn);
  }

  /** Runs every clean-up (each once), even when one fails; reports failures as one error. */
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (let fn = this.fns.pop(); fn; fn = this.fns.pop()) {
      try {
        await fn();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} clean-up(s) failed`);
  }
}
