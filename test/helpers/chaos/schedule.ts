import { between, mulberry32 } from './prng.js';

/**
 * What a chaos step does to one process:
 *   coordinator  kill -9 a coordinator, start it again on the same port after `downMs`
 *   agent        kill -9 an agent, start it again (same name and daemon) after `downMs`
 *   nats         kill -9 one NATS node, start it again on the same ports and store after `downMs`
 *   freeze       SIGSTOP an agent for `downMs` (longer than the coordinators' agent grace), then SIGCONT
 */
export type FaultKind = 'coordinator' | 'agent' | 'nats' | 'freeze';
export const FAULT_KINDS: readonly FaultKind[] = ['coordinator', 'agent', 'nats', 'freeze'];

/** How many of each process the run has. */
export interface ChaosTopology {
  coordinators: number;
  agents: number;
  natsNodes: number;
}

export interface ScheduleOptions {
  seed: number;
  /** Steps start within this many ms of the run's start. */
  durationMs: number;
  topology: ChaosTopology;
  /** The coordinators' agent grace: a freeze lasts longer than this, so the agent's lease runs out. */
  agentGraceMs: number;
}

export interface FaultStep {
  /** Ms after the run's start (after the previous step has recovered). */
  atMs: number;
  kind: FaultKind;
  /** Index of the coordinator, agent or NATS node. */
  target: number;
  /** How long the process stays dead (or stopped). */
  downMs: number;
}

/** Pause between one step's recovery and the next step: "every few seconds". */
export const GAP_MS: readonly [number, number] = [1500, 4000];
/** How long a killed process stays down. */
export const KILL_DOWN_MS: readonly [number, number] = [200, 2000];
/** How far past the agent grace a freeze lasts. */
export const FREEZE_PAST_GRACE_MS: readonly [number, number] = [1000, 4000];

/**
 * The fault schedule: a pure function of (seed, duration, topology, grace), so the same inputs
 * replay the same steps. Steps are sequential (one recovers before the next starts), so at most
 * one process is ever down: for NATS that is never a majority, and NATS steps are left out when
 * the cluster has fewer than 3 nodes (one node down would be all or half of it).
 */
export function chaosSchedule(o: ScheduleOptions): FaultStep[] {
  const next = mulberry32(o.seed);
  const kinds = FAULT_KINDS.filter((k) => targets(k, o.topology) > 0);
  const steps: FaultStep[] = [];
  if (kinds.length === 0) return steps;
  let at = between(next, GAP_MS[0], GAP_MS[1]);
  while (at < o.durationMs) {
    const kind = kinds[Math.floor(next() * kinds.length)]!;
    const target = Math.floor(next() * targets(kind, o.topology));
    const downMs =
      kind === 'freeze'
        ? o.agentGraceMs + between(next, FREEZE_PAST_GRACE_MS[0], FREEZE_PAST_GRACE_MS[1])
        : between(next, KILL_DOWN_MS[0], KILL_DOWN_MS[1]);
    steps.push({ atMs: at, kind, target, downMs });
    at += downMs + between(next, GAP_MS[0], GAP_MS[1]);
  }
  return steps;
}

function targets(kind: FaultKind, t: ChaosTopology): number {
  switch (kind) {
    case 'coordinator':
      return t.coordinators;
    case 'agent':
    case 'freeze':
      return t.agents;
    case 'nats':
      // One node down must leave a majority up.
      return t.natsNodes >= 3 ? t.natsNodes : 0;
  }
}

/** One step as a line: "  +12.3 s  kill -9 agent 2, restart after 0.8 s". */
export function formatStep(s: FaultStep): string {
  const at = `+${(s.atMs / 1000).toFixed(1)} s`.padStart(9);
  const down = `${(s.downMs / 1000).toFixed(1)} s`;
  const what =
    s.kind === 'freeze'
      ? `SIGSTOP agent ${s.target} for ${down}, then SIGCONT`
      : `kill -9 ${s.kind === 'nats' ? 'NATS node' : s.kind} ${s.target}, restart after ${down}`;
  return `${at}  ${what}`;
}

/** The seed and every step, to print at the start of a run. */
export function formatSchedule(o: ScheduleOptions, steps: readonly FaultStep[]): string {
  const t = o.topology;
  return [
    `chaos seed ${o.seed}: ${steps.length} steps over ${(o.durationMs / 1000).toFixed(0)} s on ${t.natsNodes} NATS node(s), ${t.coordinators} coordinators, ${t.agents} agents (agent grace ${o.agentGraceMs} ms)`,
    ...steps.map(formatStep),
  ].join('\n');
}

/** Parses a seed given to replay a run (decimal or 0x hex, a 32-bit unsigned integer). @throws Error naming the setting. */
export function parseSeed(text: string, setting: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text.trim())
    ? Number.parseInt(text.trim(), 16)
    : /^\d+$/.test(text.trim())
      ? Number(text.trim())
      : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff)
    throw new Error(`${setting} must be an integer from 0 to 4294967295, got "${text}"`);
  return n;
}
