import { isTerminal, type Build } from '../../api/types.js';

/**
 * When a New build may start, by its config's run policy (the policy in the build's own frozen
 * spec, so a build keeps the policy it was started under).
 *
 * **Creation order** is the build number: the `<n>` of the name `<config>-<n>`. StartBuild takes
 * it with a compare-and-set on the config's `status.lastVersion` and then creates the build, so
 * numbers of one config only grow (a config deleted and made again skips every name its old
 * builds had or have), and builds appear in the bucket, and so in every coordinator's watch, in
 * number order. The one exception is two StartBuilds of one config racing, the lower number's
 * create landing after the higher's: see `RunPolicyView.newestStarted` for what this view then
 * does. A decision to start is then confirmed by the config's run slot (run-slot.ts), a
 * compare-and-set on the config that keeps it to one build at a time across coordinators and,
 * under Serial, in number order.
 *
 * The rules, for a New build `b` of a Serial or SerialLatestOnly config (`siblings` are the
 * other builds of its config that have not ended, as the controller knows them):
 *
 *   Serial            b waits while any sibling is Pending or Running, or any older sibling
 *                     has not ended; otherwise it starts.
 *   SerialLatestOnly  b waits while any sibling is Pending or Running. Otherwise, when a newer
 *                     build exists (queued, or already started: `newestStarted`), b is
 *                     superseded; when b is the newest, the older queued builds are superseded
 *                     and then b starts.
 *   Parallel          b starts.
 */
export type RunDecision =
  /** Start b, after superseding `supersede` (older New builds, oldest first; SerialLatestOnly only). */
  | { action: 'start'; supersede: Build[] }
  /**
   * Stay New until `waitingFor` (a build's name) has ended; with `retryMs` (the run slot's wait
   * for a build not created yet, whose appearance queues nothing), sync again after that long.
   */
  | { action: 'wait'; waitingFor: string; retryMs?: number }
  /** End b Cancelled, reason Superseded, naming `newer`. */
  | { action: 'supersede'; newer: string };

export interface RunPolicyView {
  /** The other builds of b's config that had not ended when last seen (ended ones are ignored). */
  siblings: Build[];
  /**
   * The newest build of the config known to have left New (started or ended after starting),
   * ended ones included. Only a build created out of number order (two StartBuilds racing) can
   * be older than it and still New: under SerialLatestOnly such a build is superseded rather
   * than run after a newer one; under Serial it runs after it (never at the same time).
   */
  newestStarted?: { name: string; number: number };
}

/**
 * The number in a build's name `<config>-<n>`; undefined when the name does not have that form
 * (BuildApi never makes such a build; one would be run as Parallel).
 */
export function buildNumber(build: Build): number | undefined {
  const prefix = `${build.spec.configName}-`;
  const name = build.metadata.name;
  if (!name.startsWith(prefix)) return undefined;
  const digits = name.slice(prefix.length);
  if (!/^[1-9][0-9]*$/.test(digits)) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The decision for a New build `build`; see RunDecision for the rules. */
export function decideRun(build: Build, view: RunPolicyView): RunDecision {
  const policy = build.spec.config.runPolicy ?? 'Parallel';
  const n = buildNumber(build);
  if (policy === 'Parallel' || n === undefined) return { action: 'start', supersede: [] };

  const others = view.siblings
    .filter((s) => s.metadata.name !== build.metadata.name && s.metadata.namespace === build.metadata.namespace)
    .filter((s) => s.spec.configName === build.spec.configName && !isTerminal(s.status.phase))
    .map((s) => ({ build: s, number: buildNumber(s) ?? Number.MAX_SAFE_INTEGER }))
    .sort((a, b) => a.number - b.number);
  // Whatever the policy, one build of the config at a time: a started sibling (even a newer one
  // that came first, or a Parallel one from before the policy changed) is waited for.
  const active = others.find((s) => s.build.status.phase !== 'New');

  if (policy === 'Serial') {
    const older = others.filter((s) => s.number < n);
    // The nearest older build, the one b runs right after: the message changes only when that
    // one is cancelled, not each time the queue moves.
    if (older.length > 0) return { action: 'wait', waitingFor: older[older.length - 1]!.build.metadata.name };
    if (active) return { action: 'wait', waitingFor: active.build.metadata.name };
    return { action: 'start', supersede: [] };
  }

  if (active) return { action: 'wait', waitingFor: active.build.metadata.name };
  const newest = others[others.length - 1];
  if (newest && newest.number > n) return { action: 'supersede', newer: newest.build.metadata.name };
  if (view.newestStarted && view.newestStarted.number > n)
    return { action: 'supersede', newer: view.newestStarted.name };
  return { action: 'start', supersede: others.filter((s) => s.number < n).map((s) => s.build) };
}
