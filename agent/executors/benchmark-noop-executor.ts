import { createHash } from 'node:crypto';
import { LABELS } from '../build-runner.js';
import type {
  BuildEvent,
  BuildImageOptions,
  ContainerRuntime,
  ContainerSummary,
  DiskUsage,
  ImageConfig,
  PushResult,
  RemoveImageResult,
} from '../container-runtime/types.js';
import type { Executor, ExecutorLease } from './executor.js';

/**
 * FOR BENCHMARKS ONLY: an executor whose "daemon" does nothing, so a build completes as soon as
 * the agent has fetched its inputs, so that a benchmark measures Slipway (coordinator, NATS,
 * agent) and not Docker. No setting selects it: only code that constructs it (bench/) runs
 * it. It counts how often each build attempt ran, for the benchmark's exactly-once check.
 */
export class BenchmarkNoopExecutor implements Executor {
  readonly name = 'benchmark-noop';
  /** It runs nothing, so nothing can go past a limit. */
  readonly limitsDockerfileBuilds = true;
  /** It gives no build a daemon (custom builders with exposeDockerSocket go elsewhere). */
  readonly daemonPerBuild = false;
  readonly runtime = new BenchmarkNoopRuntime();

  /** It runs nothing, so nothing runs as root: it takes any build. */
  async isolation(): Promise<'userns'> {
    return 'userns';
  }

  async acquire(): Promise<ExecutorLease> {
    // It runs nothing, so nothing can go past a limit.
    return { runtime: this.runtime, limited: true, lost: () => false, release: async () => {} };
  }

  gcTarget(): undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}

/** A ContainerRuntime that builds and pushes nothing; `runs` counts builds by namespace/name/attempt. */
export class BenchmarkNoopRuntime implements ContainerRuntime {
  readonly endpoint = 'benchmark-noop://';
  readonly runs = new Map<string, number>();

  async ping(): Promise<void> {}

  async *buildImage(o: BuildImageOptions): AsyncIterable<BuildEvent> {
    const key = `${o.labels[LABELS.namespace]}/${o.labels[LABELS.build]}/${o.labels[LABELS.attempt]}`;
    this.runs.set(key, (this.runs.get(key) ?? 0) + 1);
    yield { kind: 'output', text: '#1 benchmark no-op build\n#1 DONE 0.0s\n' };
    yield { kind: 'image', id: `sha256:${sha256(key)}` };
  }

  async pushImage(reference: string): Promise<PushResult> {
    return { digest: `sha256:${sha256(reference)}` };
  }

  async removeImage(): Promise<RemoveImageResult> {
    return 'absent';
  }

  async pullImage(): Promise<void> {}

  async resolveImageDigest(reference: string): Promise<string> {
    return `sha256:${sha256(reference)}`;
  }

  async readArchive(): Promise<AsyncIterable<Uint8Array>> {
    throw new Error('the benchmark no-op runtime has no containers to read from');
  }

  // eslint-disable-next-line require-yield
  async *saveImage(): AsyncIterable<Uint8Array> {
    throw new Error(
      'the benchmark no-op runtime keeps no images to save (platform builds are not benchmarked with it)',
    );
  }

  async inspectImage(): Promise<ImageConfig | undefined> {
    return undefined;
  }

  async createContainer(): Promise<string> {
    throw new Error('the benchmark no-op runtime runs no containers (Source-to-Image is not benchmarked with it)');
  }

  async putArchive(): Promise<void> {}

  async runContainer(): Promise<number> {
    return 0;
  }

  async commitContainer(): Promise<string> {
    return '';
  }

  async listImages(): Promise<string[]> {
    return [];
  }

  async listContainers(): Promise<ContainerSummary[]> {
    return [];
  }

  async removeContainer(): Promise<void> {}

  async diskUsage(): Promise<DiskUsage> {
    return { layersBytes: 0, buildCacheBytes: 0, containersBytes: 0, volumesBytes: 0, images: [] };
  }

  async dataRoot(): Promise<string> {
    return '/nonexistent';
  }

  async pruneBuildCache(): Promise<number> {
    return 0;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
