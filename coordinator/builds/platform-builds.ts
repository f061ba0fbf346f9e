import { isTerminal, type Build, type BuildPhase, type PlatformBuildStatus } from '../../api/types.js';
import { parsePlatform, platformBuildName, platformBuildOf, platformNodeLabels } from '../../api/platforms.js';
import { InvalidInputError } from '../../common/errors.js';
import { buildEvent, isPendingReason, withEvent } from './transitions.js';

/**
 * A build of several platforms (`spec.config.output.platforms`) as pure transitions, like
 * transitions.ts. Such a build runs no attempt of its own: leaving New it becomes Running and
 * names one **platform build** per platform (`<build>-<os>-<arch>[-<variant>]`), an ordinary
 * build of the same frozen config that selects the nodes of its platform
 * (`kubernetes.io/os`, `kubernetes.io/arch`) and pushes its image by digest only. The build
 * controller creates them, follows them here, and once all completed pushes an OCI image index
 * naming them to the output tag (platform-index.ts); one that fails ends the build with the
 * platform named, and the others are cancelled. The tag is written only by that index push.
 */

/** Label on a platform build: the build of several platforms it is part of. */
export const PARENT_LABEL = 'slipway.dev/parent-build';

/** Whether `build` is one of several platforms' parent (it asks for platforms and is no platform build itself). */
export function buildsPlatforms(build: Build): boolean {
  return !build.spec.parent && (build.spec.config.output.platforms?.length ?? 0) > 0;
}

/**
 * New → Running as a build of several platforms: each platform's build named in
 * `status.platforms`, New until the controller has created it. Undefined when past New.
 */
export function fanOut(build: Build, now: Date): Build | undefined {
  if (build.status.phase !== 'New' || !buildsPlatforms(build)) return undefined;
  const platforms = build.spec.config.output.platforms!.map((platform): PlatformBuildStatus => ({
    platform,
    build: platformBuildName(build.metadata.name, platform),
    phase: 'New',
  }));
  return withEvent(
    {
      ...build,
      status: {
        phase: 'Running',
        attempt: 1,
        startTimestamp: now.toISOString(),
        platforms,
        events: build.status.events,
      },
    },
    buildEvent(
      'Normal',
      'Started',
      `building ${platforms.length} platform(s), each on a node of its own platform: ${platforms.map((p) => `${p.platform} (build ${p.build})`).join(', ')}`,
      now,
    ),
  );
}

/**
 * The build that makes `platform` for `parent`: the parent's frozen config for that platform's
 * nodes, with no policy of the config's own (run policy, triggers, history: the parent's). Its
 * uid is the caller's, so that whoever creates it can tell it is this one.
 */
export function platformBuild(parent: Build, platform: string, uid: string, now: Date): Build {
  const parsed = parsePlatform(platform);
  if (typeof parsed === 'string') throw new TypeError(parsed);
  const {
    runPolicy: _runPolicy,
    triggers: _triggers,
    successfulBuildsHistoryLimit: _kept,
    failedBuildsHistoryLimit: _failedKept,
    ...config
  } = parent.spec.config;
  const { platforms: _platforms, ...output } = config.output;
  return {
    metadata: {
      name: platformBuildName(parent.metadata.name, platform),
      namespace: parent.metadata.namespace,
      uid,
      creationTimestamp: now.toISOString(),
      generation: 1,
      labels: {
        ...parent.metadata.labels,
        [PARENT_LABEL]: parent.metadata.name,
      },
    },
    spec: {
      configName: parent.spec.configName,
      configGeneration: parent.spec.configGeneration,
      config: { ...config, output, nodeSelector: { ...config.nodeSelector, ...platformNodeLabels(parsed) } },
      ...(parent.spec.triggeredBy ? { triggeredBy: parent.spec.triggeredBy } : {}),
      platform,
      parent: parent.metadata.name,
    },
    status: { phase: 'New', attempt: 0 },
  };
}

/** Each platform's build as last read, in `status.platforms`' order; undefined where there is none. */
export type PlatformBuilds = (Build | undefined)[];

/**
 * What the platform builds say of their parent:
 * - `next`: the parent with each platform's phase, digest, node and stages, and while one waits
 *   for placement the reason and message it waits with (naming the platform); or ended, with the
 *   phase and reason of the first platform that ended without completing, named in the message.
 *   Undefined when nothing changed.
 * - `complete`: every platform's build completed with a digest: the index can be pushed.
 */
export function followPlatforms(
  parent: Build,
  children: PlatformBuilds,
  now: Date,
): { next: Build | undefined; complete: boolean } {
  const before = parent.status.platforms;
  if (parent.status.phase !== 'Running' || !before) return { next: undefined, complete: false };
  const platforms = before.map((p, i) => platformStatus(p, children[i]));
  const failed = platforms.find((p) => isTerminal(p.phase) && p.phase !== 'Complete');
  if (failed) {
    const phase: BuildPhase = failed.phase;
    const message = `platform ${failed.platform} (build ${failed.build}) ended ${failed.phase}${failed.reason ? ` (${failed.reason})` : ''}: ${failed.message ?? ''}`;
    const ended: Build = {
      ...parent,
      status: {
        ...parent.status,
        phase,
        reason: failed.reason ?? phase,
        message,
        platforms,
        completionTimestamp: now.toISOString(),
        indexPush: undefined,
      },
    };
    return {
      next: withEvent(
        ended,
        buildEvent(phase === 'Cancelled' ? 'Normal' : 'Warning', ended.status.reason!, message, now),
      ),
      complete: false,
    };
  }
  const waiting = platforms.find((p) => !isTerminal(p.phase) && isPendingReason(p.reason));
  const reason = waiting?.reason;
  const message = waiting ? `platform ${waiting.platform} waits: ${waiting.message ?? waiting.reason}` : undefined;
  const complete = platforms.every((p) => p.phase === 'Complete' && p.digest);
  const unchanged =
    JSON.stringify(platforms) === JSON.stringify(before) &&
    reason === parent.status.reason &&
    message === parent.status.message;
  if (unchanged) return { next: undefined, complete };
  return { next: { ...parent, status: { ...parent.status, reason, message, platforms } }, complete };
}

function platformStatus(known: PlatformBuildStatus, child: Build | undefined): PlatformBuildStatus {
  if (!child) return known;
  const s = child.status;
  return {
    platform: known.platform,
    build: known.build,
    phase: s.phase,
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.message ? { message: s.message } : {}),
    ...(s.output?.digest ? { digest: s.output.digest } : {}),
    ...(s.agent ? { agent: s.agent } : {}),
    ...(s.node ? { node: s.node } : {}),
    ...(s.stages?.length ? { stages: s.stages } : {}),
  };
}

/**
 * A platform build that cannot be found although the parent named it (deleted by hand): the
 * parent ends Error, naming it.
 */
export function platformBuildGone(parent: Build, platform: PlatformBuildStatus, now: Date): Build | undefined {
  if (parent.status.phase !== 'Running') return undefined;
  const message = `platform ${platform.platform}: its build ${platform.build} was deleted before it ended`;
  return withEvent(
    {
      ...parent,
      status: {
        ...parent.status,
        phase: 'Error',
        reason: 'PlatformBuildDeleted',
        message,
        completionTimestamp: now.toISOString(),
        indexPush: undefined,
      },
    },
    buildEvent('Warning', 'PlatformBuildDeleted', message, now),
  );
}

/**
 * Records that coordinator `by` pushes the index, so that of several coordinators one pushes it.
 * Undefined when another holds the push and took it less than `takeOverAfterMs` ago (one that
 * stopped meanwhile leaves it to be taken over), or the build is not waiting for its index.
 */
export function takeIndexPush(parent: Build, by: string, now: Date, takeOverAfterMs: number): Build | undefined {
  if (parent.status.phase !== 'Running' || !parent.status.platforms) return undefined;
  const held = parent.status.indexPush;
  if (held && held.coordinator !== by && now.getTime() - Date.parse(held.timestamp) < takeOverAfterMs) return undefined;
  return { ...parent, status: { ...parent.status, indexPush: { coordinator: by, timestamp: now.toISOString() } } };
}

/** Running → Complete: the index naming every platform's image is at the output tag. */
export function completeWithIndex(parent: Build, index: { image: string; digest: string }, now: Date): Build {
  const message = `pushed image index ${index.image}@${index.digest} naming ${parent.status.platforms!.map((p) => `${p.platform} ${p.digest}`).join(', ')}`;
  return withEvent(
    {
      ...parent,
      status: {
        ...parent.status,
        phase: 'Complete',
        reason: undefined,
        message: undefined,
        output: index,
        indexPush: undefined,
        completionTimestamp: now.toISOString(),
      },
    },
    buildEvent('Normal', 'Pushed', message, now),
    buildEvent('Normal', 'Complete', `every platform built; ${index.image}@${index.digest}`, now),
  );
}

/** Running → Failed: the index could not be pushed (the platforms' images stay, untagged). */
export function failIndexPush(parent: Build, reason: string, message: string, now: Date): Build {
  return withEvent(
    {
      ...parent,
      status: {
        ...parent.status,
        phase: 'Failed',
        reason,
        message,
        indexPush: undefined,
        completionTimestamp: now.toISOString(),
      },
    },
    buildEvent('Warning', reason, message, now),
  );
}

/**
 * The build whose log a reader of `build` with `platform` means: a platform's build of a build
 * of several platforms, or the build itself when it builds one image and no platform is named.
 * @throws InvalidInputError (platform) when one is named that the build does not make, or none
 *   is named for a build of several.
 */
export function platformLogSource(build: Build, platform: string | undefined): string {
  const { name, namespace } = build.metadata;
  const platforms = build.status.platforms ?? [];
  if (!platform) {
    if (platforms.length === 0) return name;
    const list = platforms.map((p) => p.platform).join(', ');
    throw new InvalidInputError([
      {
        field: 'platform',
        message: `build ${namespace}/${name} builds ${platforms.length} platforms, each with a log of its own: name one (${list})`,
      },
    ]);
  }
  const found = platformBuildOf(`${namespace}/${name}`, platforms, platform);
  if ('build' in found) return found.build;
  throw new InvalidInputError([{ field: 'platform', message: found.problem }]);
}
