import { between, mulberry32 } from '../chaos/prng.js';

/**
 * What a soak build is for, and so how it must end: `fresh` writes a new layer every time
 * (noCache), `cached` only the first time on a daemon, `fail` writes and exits 3, `deadline`
 * sleeps past its completionDeadlineSeconds, `cancel` sleeps until the run cancels it.
 */
export type BuildKind = 'fresh' | 'cached' | 'fail' | 'deadline' | 'cancel';

/** The phase and reason each kind must end with; anything else is a problem of the run. */
export const EXPECTED: Record<BuildKind, { phase: string; reason: string }> = {
  fresh: { phase: 'Complete', reason: '' },
  cached: { phase: 'Complete', reason: '' },
  fail: { phase: 'Failed', reason: 'BuildStepFailed' },
  deadline: { phase: 'Failed', reason: 'DeadlineExceeded' },
  cancel: { phase: 'Cancelled', reason: 'Cancelled' },
};

export interface SoakConfig {
  name: string;
  kind: BuildKind;
  dockerfile: string;
  noCache: boolean;
  completionDeadlineSeconds: number;
  /** The most one build of it adds to a daemon's disk: its base plus what its step writes. */
  footprintMiB: number;
}

/** How often each kind is started, of every 100 builds. */
const WEIGHTS: [BuildKind, number][] = [
  ['fresh', 58],
  ['cached', 17],
  ['fail', 10],
  ['deadline', 7],
  ['cancel', 8],
];

/**
 * The configs of a soak: every base image under `fresh` (each writing a layer of its own size),
 * three `cached`, and one each of `fail`, `deadline` and `cancel`. Together their images are far
 * more than a daemon's disk keeps under the high threshold; each build alone is small.
 * @param sleep the sleeping steps' command: unique to the run, so a step left running is found.
 */
export function soakConfigs(bases: { ref: string; mib: number }[], sleep: string): SoakConfig[] {
  const blob = (mib: number) =>
    // Zeros and then a line of its own: a new layer each time, not one the daemon already has.
    `dd if=/dev/zero of=/blob bs=1M count=${mib} 2>/dev/null && cat /proc/sys/kernel/random/uuid >> /blob`;
  const base = (i: number) => bases[i % bases.length]!;
  const configs: SoakConfig[] = bases.map((b, i) => {
    const mib = 6 + ((i * 4) % 20);
    return {
      name: `fresh-${i}`,
      kind: 'fresh',
      dockerfile: `FROM ${b.ref}\nRUN ${blob(mib)}\n`,
      noCache: true,
      completionDeadlineSeconds: 0,
      footprintMiB: b.mib + mib,
    };
  });
  for (const i of [1, 3, 5]) {
    configs.push({
      name: `cached-${i}`,
      kind: 'cached',
      dockerfile: `FROM ${base(i).ref}\nRUN ${blob(8)}\n`,
      noCache: false,
      completionDeadlineSeconds: 0,
      footprintMiB: base(i).mib + 8,
    });
  }
  configs.push(
    {
      name: 'fail',
      kind: 'fail',
      dockerfile: `FROM ${base(2).ref}\nRUN ${blob(8)} && exit 3\n`,
      noCache: true,
      completionDeadlineSeconds: 0,
      footprintMiB: base(2).mib + 8,
    },
    {
      name: 'deadline',
      kind: 'deadline',
      dockerfile: `FROM ${base(0).ref}\nRUN ${sleep}\n`,
      noCache: true,
      completionDeadlineSeconds: 3,
      footprintMiB: base(0).mib,
    },
    {
      name: 'cancel',
      kind: 'cancel',
      dockerfile: `FROM ${base(4).ref}\nRUN ${sleep}\n`,
      noCache: true,
      completionDeadlineSeconds: 0,
      footprintMiB: base(4).mib,
    },
  );
  return configs;
}

export interface PlannedBuild {
  /** Ms after the run's start. */
  atMs: number;
  config: string;
  kind: BuildKind;
  /** For `cancel`: ms after its StartBuild that the run cancels it (Pending or Running). */
  cancelAfterMs?: number;
}

/** Which config each build is of and when it starts: seeded, so a run can be replayed. */
export function soakPlan(
  seed: number,
  configs: readonly SoakConfig[],
  builds: number,
  perSecond: number,
): PlannedBuild[] {
  const next = mulberry32(seed);
  const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
  return Array.from({ length: builds }, (_, i) => {
    let pick = next() * total;
    const kind = WEIGHTS.find(([, w]) => (pick -= w) < 0)?.[0] ?? 'fresh';
    const ofKind = configs.filter((c) => c.kind === kind);
    const config = ofKind[between(next, 0, ofKind.length - 1)]!;
    return {
      atMs: Math.round((i * 1000) / perSecond),
      config: config.name,
      kind,
      ...(kind === 'cancel' ? { cancelAfterMs: between(next, 500, 4000) } : {}),
    };
  });
}
