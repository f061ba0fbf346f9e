import { BenchmarkNoopExecutor, BenchmarkNoopRuntime } from '../../agent/executors/benchmark-noop-executor.js';
import type { BuildEvent, BuildImageOptions } from '../../agent/container-runtime/types.js';

/**
 * The no-op executor, except that its builds do not end until `release()` (or until their
 * attempt is aborted): an agent running one stays full for as long as the benchmark wants.
 */
export class HoldingExecutor extends BenchmarkNoopExecutor {
  override readonly runtime = new HoldingRuntime();

  /** Lets every held build, and every later one, finish. */
  release(): void {
    this.runtime.release();
  }
}

class HoldingRuntime extends BenchmarkNoopRuntime {
  release!: () => void;
  private readonly released = new Promise<void>((r) => (this.release = r));

  override async *buildImage(o: BuildImageOptions): AsyncIterable<BuildEvent> {
    const aborted = new Promise<void>((r) => o.signal?.addEventListener('abort', () => r(), { once: true }));
    await Promise.race([this.released, aborted]);
    yield* super.buildImage(o);
  }
}
