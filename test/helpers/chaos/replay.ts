import { randomInt } from 'node:crypto';
import { parseSeed } from './schedule.js';

/** The variable that replays a chaos run's schedule: its value is the seed a run printed. */
export const CHAOS_SEED_ENV = 'SLIPWAY_CHAOS_SEED';

/** The seed `SLIPWAY_CHAOS_SEED` gives, or a new random one when it is not set. @throws Error naming the variable when it is not a seed. */
export function chaosSeed(env: NodeJS.ProcessEnv): number {
  const given = env[CHAOS_SEED_ENV];
  return given ? parseSeed(given, CHAOS_SEED_ENV) : randomInt(0, 2 ** 32);
}

/** The command that runs the short form (100 builds) again with `seed`, as the run prints it. */
export function shortFormReplayCommand(seed: number): string {
  return `${CHAOS_SEED_ENV}=${seed} npm run bench -- --only chaos --builds 100`;
}
