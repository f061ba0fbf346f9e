import { formatStep, type FaultKind, type FaultStep } from './schedule.js';
import type { Supervised } from './supervisor.js';

export interface ChaosTargets {
  coordinators: Supervised[];
  agents: Supervised[];
  nats: Supervised[];
}

export interface AppliedStep {
  step: FaultStep;
  /** Ms after the schedule started, by the clock. */
  startedMs: number;
  recoveredMs: number;
  /** Why the process could not be started again, if it could not. */
  error?: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Runs the steps in order until they run out or `signal` aborts. The pauses between steps are
 * the schedule's (a step's `atMs` minus the previous step's end), counted from when the previous
 * process was back, so a slow restart delays the rest instead of bunching it up. A step that has
 * begun always finishes: nothing is left killed or stopped when this returns.
 */
export async function applySchedule(
  steps: readonly FaultStep[],
  targets: ChaosTargets,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<AppliedStep[]> {
  const t0 = Date.now();
  const applied: AppliedStep[] = [];
  let prevEnd = 0;
  for (const step of steps) {
    await sleep(step.atMs - prevEnd, signal);
    if (signal.aborted) break;
    prevEnd = step.atMs + step.downMs;
    const target = targetOf(targets, step.kind, step.target);
    const startedMs = Date.now() - t0;
    say(`chaos: ${formatStep(step)}  (at +${(startedMs / 1000).toFixed(1)} s)`);
    let error: string | undefined;
    if (step.kind === 'freeze') {
      target.freeze(true);
      await sleep(step.downMs);
      target.freeze(false);
    } else {
      await target.kill();
      await sleep(step.downMs);
      error = await startAgain(target);
    }
    if (error) say(`chaos: ${target.name} did not start again: ${error}`);
    applied.push({ step, startedMs, recoveredMs: Date.now() - t0, error });
  }
  return applied;
}

function targetOf(t: ChaosTargets, kind: FaultKind, i: number): Supervised {
  const list = kind === 'coordinator' ? t.coordinators : kind === 'nats' ? t.nats : t.agents;
  const target = list[i];
  if (!target) throw new Error(`the schedule names ${kind} ${i}, but the run has ${list.length}`);
  return target;
}

/** Starts a killed process again, trying three times; returns the last error when it never came up. */
async function startAgain(target: Supervised): Promise<string | undefined> {
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      await target.start();
      return undefined;
    } catch (err) {
      last = err;
      await sleep(1000);
    }
  }
  return String((last as Error)?.message ?? last).split('\n')[0];
}
