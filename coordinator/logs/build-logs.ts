import type { NatsConnection } from '@nats-io/transport-node';
import { BuildNotFoundError, InvalidInputError } from '../../common/errors.js';
import { objectKey } from '../../common/nats/names.js';
import { isTerminal, type Build } from '../../api/types.js';
import { requireName } from '../../api/validation.js';
import type { JsonStore } from '../store/json-store.js';
import { platformLogSource } from '../builds/platform-builds.js';
import { readBuildLog, type LogBatch } from './log-reader.js';

export interface StreamLogsRequest {
  namespace: string;
  name: string;
  follow: boolean;
  fromLine: number;
  /** 0: the build's current attempt. */
  attempt: number;
  /** A build of several platforms: the platform whose log is read (its platform build's). */
  platform?: string;
}

/** Builds' logs as clients read them (StreamBuildLogs). */
export class BuildLogs {
  constructor(
    private readonly nc: NatsConnection,
    private readonly builds: JsonStore<Build>,
  ) {}

  /**
   * The log in batches of consecutive lines (readBuildLog), each line once, in order.
   * @throws BuildNotFoundError, InvalidInputError before yielding anything.
   */
  async *stream(req: StreamLogsRequest, signal?: AbortSignal): AsyncIterable<LogBatch> {
    requireName(req.namespace, 'namespace');
    requireName(req.name, 'name');
    if (req.fromLine < 0) throw new InvalidInputError([{ field: 'fromLine', message: 'must not be negative' }]);
    if (req.attempt < 0) throw new InvalidInputError([{ field: 'attempt', message: 'must not be negative' }]);
    let key = objectKey(req.namespace, req.name);
    let build = (await this.builds.get(key))?.value;
    if (!build) throw new BuildNotFoundError(`${req.namespace}/${req.name}`);
    // A build of several platforms has no log of its own: a platform's build has it.
    const source = platformLogSource(build, req.platform);
    if (source !== req.name) {
      key = objectKey(req.namespace, source);
      build = (await this.builds.get(key))?.value;
      if (!build) throw new BuildNotFoundError(`${req.namespace}/${source}`);
    }
    const attempt = req.attempt || Math.max(1, build.status.attempt);
    if (attempt > Math.max(1, build.status.attempt)) {
      throw new InvalidInputError([
        { field: 'attempt', message: `build has no attempt ${attempt} (it is at ${build.status.attempt})` },
      ]);
    }
    yield* readBuildLog(this.nc, {
      namespace: req.namespace,
      build: source,
      attempt,
      fromLine: Math.max(1, req.fromLine),
      follow: req.follow,
      signal,
      attemptOver: async () => {
        const now = (await this.builds.get(key))?.value;
        return !now || isTerminal(now.status.phase) || now.status.attempt !== attempt;
      },
    });
  }
}
