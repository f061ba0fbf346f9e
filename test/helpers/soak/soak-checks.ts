import type { Build__Output } from '../../../proto/generated/slipway/v1/Build.js';
import type { GcRound } from '../../../agent/gc/image-gc.js';
import { EXPECTED, type BuildKind } from './soak-mix.js';

/** A build's message says the disk was full: the failure the soak exists to rule out. */
export const OUT_OF_SPACE = /no space left on device|ENOSPC|disk quota exceeded/i;

/** One image GC round as the agent logged it ('image garbage collection'), with its agent and time. */
export type LoggedGcRound = Omit<GcRound, 'trigger' | 'daemonBytes' | 'warmForgotten'> & {
  agent: string;
  time: string;
  trigger: string;
  daemonBytes?: number;
};

export interface Outcomes {
  /** Builds by kind, then by "Phase/Reason". */
  byKind: Record<string, Record<string, number>>;
  /** Builds that did not end as their kind must: "name (kind): Phase/Reason: message". */
  unexpected: string[];
  /** Builds whose message says the disk was full. */
  outOfSpace: string[];
  /** Builds started but not found ended. */
  unfinished: string[];
  /** created → completion of the Complete builds, ms. */
  completeMs: number[];
}

/** Compares each started build's end with what its kind must end as. */
export function evaluateOutcomes(started: ReadonlyMap<string, BuildKind>, finals: readonly Build__Output[]): Outcomes {
  const byName = new Map(finals.map((b) => [b.metadata!.name, b]));
  const o: Outcomes = { byKind: {}, unexpected: [], outOfSpace: [], unfinished: [], completeMs: [] };
  for (const [name, kind] of started) {
    const b = byName.get(name);
    const s = b?.status;
    if (!s || !['Complete', 'Failed', 'Error', 'Cancelled'].includes(s.phase)) {
      o.unfinished.push(`${name} (${kind}): ${s?.phase ?? 'not found'}`);
      continue;
    }
    const end = `${s.phase}/${s.reason}`;
    (o.byKind[kind] ??= {})[end] = (o.byKind[kind]![end] ?? 0) + 1;
    const want = EXPECTED[kind];
    const said = `${name} (${kind}): ${end}: ${s.message.slice(0, 300)}`;
    if (s.phase !== want.phase || s.reason !== want.reason) o.unexpected.push(said);
    if (OUT_OF_SPACE.test(s.message) || OUT_OF_SPACE.test(s.logSnippet)) o.outOfSpace.push(said);
    if (s.phase === 'Complete' && s.completionTimestamp && b.metadata!.creationTimestamp)
      o.completeMs.push(Date.parse(s.completionTimestamp) - Date.parse(b.metadata!.creationTimestamp));
  }
  return o;
}

/** The rounds that collected (usage was above the high threshold) and those that ended above it. */
export function evaluateGcRounds(rounds: readonly LoggedGcRound[]): {
  collecting: LoggedGcRound[];
  endedAboveHigh: LoggedGcRound[];
} {
  const collecting = rounds.filter((r) => r.usageBefore > r.high);
  return { collecting, endedAboveHigh: collecting.filter((r) => r.usageAfter > r.high) };
}

/** A round in one line, in MiB. */
export function formatRound(r: LoggedGcRound): string {
  const m = (b: number) => (b / 2 ** 20).toFixed(0);
  return (
    `${r.agent} ${r.time} ${r.trigger}: ${m(r.usageBefore)} → ${m(r.usageAfter)} MiB (high ${m(r.high)}, low ${m(r.low)}), ` +
    `${r.imagesRemoved} images and ${r.containersRemoved} containers removed, ${m(r.reclaimedBytes)} MiB reclaimed`
  );
}
