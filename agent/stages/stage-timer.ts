import type { BuildStageName } from '../../api/types.js';

/** One stage of an attempt as the agent timed it (the shape of BuildStatus.stages). */
export interface TimedStage {
  name: BuildStageName;
  /** When it began, ISO 8601 (the agent's clock). */
  startTimestamp: string;
  /** Wall time it took, or, for the stage a build failed in, until the failure. */
  durationMs: number;
}

/**
 * Times the stages of one attempt: FetchInputs, PullImages, Build, PushImage. Stages run one
 * after another through `run`, so they never overlap and are recorded in the order they ran;
 * a stage that throws is recorded with its duration up to the throw, and the stages after it
 * are not recorded at all (only the stages reached are reported).
 */
export class StageTimer {
  private readonly stages: TimedStage[] = [];

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async run<T>(name: BuildStageName, step: () => Promise<T>): Promise<T> {
    // Start and end from the same clock, in whole milliseconds: a stage then ends no later than
    // the next one starts, as the timestamps show it (a clock set back counts as 0 ms).
    const began = this.clock().getTime();
    try {
      return await step();
    } finally {
      this.stages.push({
        name,
        startTimestamp: new Date(began).toISOString(),
        durationMs: Math.max(0, this.clock().getTime() - began),
      });
    }
  }

  /** The stages reached so far, oldest first (a copy). */
  list(): TimedStage[] {
    return this.stages.map((s) => ({ ...s }));
  }
}
