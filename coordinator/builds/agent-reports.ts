import { BuildNotFoundError } from '../../common/errors.js';
import { objectKey } from '../../common/nats/names.js';
import type { Build, Versioned } from '../api/types.js';
import type { StateStore } from '../store/state-store.js';
import { claim, finish, type Claim, type Outcome } from './transitions.js';

export interface BuildRef {
  namespace: string;
  name: string;
  attempt: number;
}

/**
 * Applies what agents report. Each report is fenced by attempt and agent (transitions.ts): a
 * report about an attempt that is not current, or from an agent that does not own it, is
 * refused and changes nothing.
 */
export class AgentReports {
  constructor(
    private readonly store: StateStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** @throws StaleAttemptError, BuildAlreadyTerminalError, BuildNotFoundError */
  async claim(ref: BuildRef, c: Omit<Claim, 'attempt'>): Promise<Versioned<Build>> {
    return this.apply(ref, (b) => claim(b, { ...c, attempt: ref.attempt }, this.clock()));
  }

  /** @throws StaleAttemptError, BuildAlreadyTerminalError, BuildNotFoundError */
  async finish(ref: BuildRef, outcome: Omit<Outcome, 'attempt'>): Promise<Versioned<Build>> {
    return this.apply(ref, (b) => finish(b, { ...outcome, attempt: ref.attempt }, this.clock()));
  }

  private async apply(ref: BuildRef, step: (b: Build) => Build | undefined): Promise<Versioned<Build>> {
    const result = await this.store.builds.mutate(objectKey(ref.namespace, ref.name), step);
    if (!result) throw new BuildNotFoundError(`${ref.namespace}/${ref.name}`);
    return result;
  }
}
