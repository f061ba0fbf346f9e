import { BuildConfigNotFoundError, errorMessage, InvalidInputError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { sleepUnlessAborted } from '../../common/sleep.js';
import type { BuildConfig, BuildConfigStatus } from '../../api/types.js';
import type { BuildApi } from '../builds/build-api.js';

/**
 * ConfigChange triggers: a config with one gets a build when it is created and whenever its
 * spec changes (its generation goes up; a change of labels or annotations alone does not).
 * Every coordinator watches the BuildConfig bucket (a snapshot, then every change after it) and
 * offers each such config to decideConfigChange inside startBuildIf's compare-and-set, which
 * records `status.lastTriggeredGeneration`: each generation starts one build however many
 * coordinators see it, and a coordinator that starts late (or restarts) catches up on what it
 * missed.
 */

/**
 * The decide hook for generation `generation` (pure): the status recording it, or undefined
 * when the config has no ConfigChange trigger, is at another generation now (its own change
 * will be offered), or already started a build for it.
 */
export function decideConfigChange(config: BuildConfig, generation: number): BuildConfigStatus | undefined {
  if (!hasConfigChangeTrigger(config)) return undefined;
  if (config.metadata.generation !== generation) return undefined;
  if ((config.status.lastTriggeredGeneration ?? 0) >= generation) return undefined;
  return { ...config.status, lastTriggeredGeneration: generation };
}

export function hasConfigChangeTrigger(config: BuildConfig): boolean {
  return (config.spec.triggers ?? []).some((t) => t.type === 'ConfigChange');
}

export class ConfigChangeTriggers {
  constructor(
    private readonly builds: BuildApi,
    private readonly log: Logger,
    /** Wait before watching again after the watch failed (NATS away). */
    private readonly retryMs = 1000,
  ) {}

  /** Watches until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const snapshot = await this.builds.snapshotBuildConfigs();
        for (const c of snapshot.items) await this.offer(c.value);
        for await (const change of this.builds.buildConfigChanges(snapshot.revision, signal)) {
          if (change.value) await this.offer(change.value);
        }
      } catch (err) {
        if (signal.aborted) return;
        // Expired history or NATS away: start again from a fresh snapshot (offering twice is harmless).
        this.log.warn('ConfigChange watch broke; watching again', { error: errorMessage(err) });
        await sleepUnlessAborted(this.retryMs, signal);
      }
    }
  }

  /** Starts a build of `config` for its generation, unless decideConfigChange declines. */
  async offer(config: BuildConfig): Promise<void> {
    const generation = config.metadata.generation;
    // Most changes are of other configs, or status writes: skip them without a write.
    if (decideConfigChange(config, generation) === undefined) return;
    const { namespace, name } = config.metadata;
    try {
      const started = await this.builds.startBuildIf({
        namespace,
        configName: name,
        cause: { type: 'ConfigChange', message: `generation ${generation}` },
        decide: (c) => decideConfigChange(c, generation),
      });
      if (started)
        this.log.info('config change started a build', {
          namespace,
          config: name,
          build: started.value.metadata.name,
          generation,
        });
    } catch (err) {
      if (err instanceof BuildConfigNotFoundError) return;
      if (err instanceof InvalidInputError) {
        this.log.warn('config change cannot start a build of this config', {
          namespace,
          config: name,
          error: errorMessage(err),
        });
        return;
      }
      throw err;
    }
  }
}
