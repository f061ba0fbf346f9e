import { randomUUID } from 'node:crypto';
import {
  AlreadyExistsError,
  BuildConfigNotFoundError,
  BuildNotFoundError,
  BuildStillRunningError,
  ConflictError,
  InvalidInputError,
  type FieldError,
} from '../../common/errors.js';
import { objectKey } from '../../common/nats/names.js';
import { parseImageReference } from '../../common/image-reference.js';
import { BUILD_PHASES, isTerminal, type BinarySource, type Build, type BuildCause, type BuildConfigStatus, type BuildConfig, type BuildPhase, type Versioned } from '../api/types.js';
import { gitRefProblem, requireName, type BuildConfigInput } from '../api/validation.js';
import type { StoreChange, StoreSnapshot } from '../store/json-store.js';
import type { StateStore } from '../store/state-store.js';
import { cancel } from './transitions.js';
import { IGNORE_TRANSITIONS, type TransitionObserver } from './transition-observer.js';

export interface BuildApiOptions {
  clock?: () => Date;
  newUid?: () => string;
  /** Told of the builds this API creates and ends (cancels), once each. */
  observer?: TransitionObserver;
}

export interface StartBuildRequest {
  namespace: string;
  configName: string;
  /** Overrides of the config's git ref and output image for this build only. */
  ref?: string;
  image?: string;
  /** A context uploaded for this build; it replaces the config's git source. */
  binary?: Required<BinarySource>;
  /** Why the build starts; undefined: Manual (a client asked). */
  cause?: BuildCause;
  /**
   * For triggers: decides, from the config as it is in the compare-and-set that numbers the
   * build, whether the build starts. It returns the config's next status (recording what the
   * trigger acted on), or undefined to start nothing. Because the record and the build number
   * land in one write, two coordinators acting on one event start one build. Must be pure.
   */
  decide?: (config: BuildConfig) => BuildConfigStatus | undefined;
}

export interface ListBuildsFilter {
  namespace: string;
  configName?: string;
  phase?: BuildPhase;
}

/**
 * What clients can do with BuildConfigs and Builds. Inputs arrive validated in shape
 * (validation.ts); this checks what needs the store (existence, revisions) and writes only with
 * create or compare-and-set.
 */
export class BuildApi {
  private readonly clock: () => Date;
  private readonly newUid: () => string;
  private readonly observer: TransitionObserver;

  constructor(
    private readonly store: StateStore,
    options: BuildApiOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.newUid = options.newUid ?? randomUUID;
    this.observer = options.observer ?? IGNORE_TRANSITIONS;
  }

  async createBuildConfig(input: BuildConfigInput): Promise<Versioned<BuildConfig>> {
    const { namespace, name, labels } = input.metadata;
    const annotations = nonEmpty(input.metadata.annotations);
    const config: BuildConfig = {
      metadata: { name, namespace, labels, ...(annotations ? { annotations } : {}), uid: this.newUid(), creationTimestamp: this.clock().toISOString(), generation: 1 },
      spec: input.spec,
      status: { lastVersion: 0 },
    };
    const revision = await this.store.buildConfigs.create(objectKey(namespace, name), config);
    return { value: config, revision };
  }

  /**
   * Replaces a config's spec and labels. With `expectedRevision`, only if the config is still at
   * that revision. Builds already started keep their frozen copy.
   * @throws BuildConfigNotFoundError, ConflictError
   */
  async updateBuildConfig(input: BuildConfigInput, expectedRevision?: number): Promise<Versioned<BuildConfig>> {
    const { namespace, name, labels } = input.metadata;
    const key = objectKey(namespace, name);
    for (;;) {
      const current = await this.store.buildConfigs.get(key);
      if (!current) throw new BuildConfigNotFoundError(`${namespace}/${name}`);
      if (expectedRevision !== undefined && current.revision !== expectedRevision) throw new ConflictError(key, expectedRevision);
      const specChanged = JSON.stringify(current.value.spec) !== JSON.stringify(input.spec);
      const { annotations: before, ...kept } = current.value.metadata;
      const annotations = input.metadata.annotations === undefined ? before : nonEmpty(input.metadata.annotations);
      const next: BuildConfig = {
        ...current.value,
        metadata: { ...kept, labels, ...(annotations ? { annotations } : {}), generation: current.value.metadata.generation + (specChanged ? 1 : 0) },
        spec: input.spec,
      };
      try {
        return { value: next, revision: await this.store.buildConfigs.update(key, next, current.revision) };
      } catch (err) {
        // Someone else wrote in between: a conditional update fails, an unconditional one retries.
        if (!(err instanceof ConflictError) || expectedRevision !== undefined) throw err;
      }
    }
  }

  async getBuildConfig(namespace: string, name: string): Promise<Versioned<BuildConfig>> {
    requireName(namespace, 'namespace');
    requireName(name, 'name');
    const found = await this.store.buildConfigs.get(objectKey(namespace, name));
    if (!found) throw new BuildConfigNotFoundError(`${namespace}/${name}`);
    return found;
  }

  async listBuildConfigs(namespace: string): Promise<Versioned<BuildConfig>[]> {
    requireName(namespace, 'namespace');
    const items = await this.store.buildConfigs.list(`${namespace}.*`);
    return items.sort((a, b) => a.value.metadata.name.localeCompare(b.value.metadata.name));
  }

  /**
   * Deletes the config (with `expectedRevision`, only if it is still at that revision). Its
   * builds stay: they are records of what ran.
   * @throws BuildConfigNotFoundError, ConflictError
   */
  async deleteBuildConfig(namespace: string, name: string, expectedRevision?: number): Promise<Versioned<BuildConfig>> {
    const current = await this.getBuildConfig(namespace, name);
    if (expectedRevision !== undefined && current.revision !== expectedRevision) throw new ConflictError(objectKey(namespace, name), expectedRevision);
    await this.store.buildConfigs.delete(objectKey(namespace, name), current.revision);
    return current;
  }

  /** BuildConfigs of one namespace (every namespace when undefined) as of one revision, which is returned. */
  async snapshotBuildConfigs(namespace?: string): Promise<StoreSnapshot<BuildConfig>> {
    if (namespace !== undefined) requireName(namespace, 'namespace');
    return this.store.buildConfigs.snapshot(namespace === undefined ? '>' : `${namespace}.*`);
  }

  /** Builds of one namespace (every namespace when undefined) as of one revision, which is returned. */
  async snapshotBuilds(namespace?: string): Promise<StoreSnapshot<Build>> {
    if (namespace !== undefined) requireName(namespace, 'namespace');
    return this.store.builds.snapshot(namespace === undefined ? '>' : `${namespace}.*`);
  }

  /**
   * Every change to any BuildConfig after `afterRevision` (keys are `<namespace>.<name>`).
   * @throws RevisionExpiredError when a change after it is no longer kept.
   */
  buildConfigChanges(afterRevision: number, signal?: AbortSignal): AsyncIterable<StoreChange<BuildConfig>> {
    return this.store.buildConfigs.changes(afterRevision, signal);
  }

  /** Every change to any Build after `afterRevision`, as buildConfigChanges. */
  buildChanges(afterRevision: number, signal?: AbortSignal): AsyncIterable<StoreChange<Build>> {
    return this.store.builds.changes(afterRevision, signal);
  }

  latestBuildConfigRevision(): Promise<number> {
    return this.store.buildConfigs.latestRevision();
  }

  latestBuildRevision(): Promise<number> {
    return this.store.builds.latestRevision();
  }

  /**
   * Deletes a build that has ended (with `expectedRevision`, only at that revision). One that has
   * not is cancelled first: New and Pending ones end at once and are deleted; a Running one is
   * being stopped by its agent, and this refuses with ConflictError until it has ended (deleting
   * it under the agent would lose its report).
   * @throws BuildNotFoundError, ConflictError
   */
  async deleteBuild(namespace: string, name: string, expectedRevision?: number): Promise<Versioned<Build>> {
    const key = objectKey(namespace, name);
    let current = await this.getBuild(namespace, name);
    if (expectedRevision !== undefined && current.revision !== expectedRevision) throw new ConflictError(key, expectedRevision);
    if (!isTerminal(current.value.status.phase)) {
      current = await this.cancelBuild(namespace, name);
      if (!isTerminal(current.value.status.phase)) {
        throw new BuildStillRunningError(key);
      }
    }
    await this.store.builds.delete(key, current.revision);
    return current;
  }

  /**
   * Creates a New build from the config as it is now. The build number comes from a
   * compare-and-set on the config, so two coordinators starting builds of one config at once get
   * different numbers; a number whose create then fails is skipped, never reused, and so is the
   * name of a deleted build (a config deleted and made again counts from 1 again).
   */
  async startBuild(req: StartBuildRequest): Promise<Versioned<Build>> {
    const started = await this.startBuildIf(req);
    if (!started) throw new Error('startBuild: no build started without a decide hook');
    return started;
  }

  /**
   * startBuild for triggers: as startBuild, but `req.decide` may decline, and then nothing is
   * started and undefined is returned.
   */
  async startBuildIf(req: StartBuildRequest): Promise<Versioned<Build> | undefined> {
    requireName(req.namespace, 'namespace');
    requireName(req.configName, 'configName');
    const problems: FieldError[] = [];
    const refProblem = req.ref ? gitRefProblem(req.ref) : undefined;
    if (refProblem) problems.push({ field: 'ref', message: refProblem });
    if (req.image) {
      const parsed = parseImageReference(req.image);
      if (typeof parsed === 'string') problems.push({ field: 'image', message: parsed });
      else if (parsed.digest) problems.push({ field: 'image', message: 'must name a tag, not a digest' });
    }
    if (problems.length > 0) throw new InvalidInputError(problems, 'StartBuild request');

    // Checked before the build number is taken, so a refused start changes nothing.
    const { value: current } = await this.getBuildConfig(req.namespace, req.configName);
    const source = current.spec.source;
    if (!req.binary && source.binary && !source.git && source.dockerfile === undefined) {
      throw new InvalidInputError([{ field: 'context', message: `BuildConfig "${req.configName}" builds from an uploaded context: start it with one (slipway start --from-dir)` }]);
    }
    const configKey = objectKey(req.namespace, req.configName);
    let decide = req.decide;
    for (;;) {
      let declined = false;
      const bumped = await this.store.buildConfigs.mutate(configKey, (c) => {
        const status = decide ? decide(c) : c.status;
        declined = status === undefined;
        return status === undefined ? undefined : { ...c, status: { ...status, lastVersion: c.status.lastVersion + 1 } };
      });
      if (!bumped) throw new BuildConfigNotFoundError(`${req.namespace}/${req.configName}`);
      if (declined) return undefined;
      // The trigger's record landed with this number: a retry for a skipped number must not ask again.
      decide = undefined;
      const config = bumped.value;
      const name = `${config.metadata.name}-${config.status.lastVersion}`;
      const frozen = structuredClone(config.spec);
      if (req.binary) {
        frozen.source.binary = req.binary;
        delete frozen.source.git;
        delete frozen.source.sourceSecret;
      } else {
        delete frozen.source.binary;
      }
      if (req.ref) {
        if (!frozen.source.git) throw new InvalidInputError([{ field: 'ref', message: `BuildConfig "${req.configName}" has no git source to take a ref of` }]);
        frozen.source.git.ref = req.ref;
      }
      if (req.image) frozen.output.image = req.image;
      const build: Build = {
        metadata: {
          name,
          namespace: req.namespace,
          uid: this.newUid(),
          creationTimestamp: this.clock().toISOString(),
          generation: 1,
          labels: { 'slipway.dev/buildconfig': config.metadata.name },
        },
        spec: {
          configName: config.metadata.name,
          configGeneration: config.metadata.generation,
          config: frozen,
          triggeredBy: [req.cause ?? { type: 'Manual', message: 'started by a client' }],
        },
        status: { phase: 'New', attempt: 0 },
      };
      // A deleted build's name is not given again: its log and its job's de-duplication id
      // are keyed by name and attempt, and would be taken for the new build's.
      if (await this.store.builds.wasDeleted(objectKey(req.namespace, name))) continue;
      try {
        const revision = await this.store.builds.create(objectKey(req.namespace, name), build);
        this.observer.created(build);
        return { value: build, revision };
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
    }
  }

  async getBuild(namespace: string, name: string): Promise<Versioned<Build>> {
    requireName(namespace, 'namespace');
    requireName(name, 'name');
    const found = await this.store.builds.get(objectKey(namespace, name));
    if (!found) throw new BuildNotFoundError(`${namespace}/${name}`);
    return found;
  }

  async listBuilds(filter: ListBuildsFilter): Promise<Versioned<Build>[]> {
    requireName(filter.namespace, 'namespace');
    if (filter.configName) requireName(filter.configName, 'configName');
    if (filter.phase && !BUILD_PHASES.includes(filter.phase)) {
      throw new InvalidInputError([{ field: 'phase', message: `"${filter.phase}" is not one of ${BUILD_PHASES.join(', ')}` }]);
    }
    const items = await this.store.builds.list(`${filter.namespace}.*`);
    return items
      .filter((b) => !filter.configName || b.value.spec.configName === filter.configName)
      .filter((b) => !filter.phase || b.value.status.phase === filter.phase)
      .sort((a, b) => a.value.metadata.creationTimestamp.localeCompare(b.value.metadata.creationTimestamp) || a.revision - b.revision);
  }

  /**
   * Replaces a build's labels and annotations, all a client may change of a build (its spec is
   * frozen, its status Slipway's); the label naming its config stays as it is. With
   * `expectedRevision`, only if the build is still at that revision.
   * @throws BuildNotFoundError, ConflictError
   */
  async updateBuildMetadata(
    namespace: string,
    name: string,
    meta: { labels?: Record<string, string>; annotations?: Record<string, string> },
    expectedRevision?: number,
  ): Promise<Versioned<Build>> {
    const key = objectKey(namespace, name);
    for (;;) {
      const current = await this.getBuild(namespace, name);
      if (expectedRevision !== undefined && current.revision !== expectedRevision) throw new ConflictError(key, expectedRevision);
      const { annotations: _before, ...kept } = current.value.metadata;
      const annotations = nonEmpty(meta.annotations);
      const next: Build = {
        ...current.value,
        metadata: {
          ...kept,
          labels: { ...meta.labels, 'slipway.dev/buildconfig': current.value.metadata.labels['slipway.dev/buildconfig'] },
          ...(annotations ? { annotations } : {}),
        },
      };
      try {
        return { value: next, revision: await this.store.builds.update(key, next, current.revision) };
      } catch (err) {
        if (!(err instanceof ConflictError) || expectedRevision !== undefined) throw err;
      }
    }
  }

  /**
   * Cancels a build: New or Pending ones end Cancelled at once; a Running one is marked, and its
   * agent stops it (within a heartbeat) and reports Cancelled.
   * @throws BuildNotFoundError, BuildAlreadyTerminalError (cancelling a finished build)
   */
  async cancelBuild(namespace: string, name: string): Promise<Versioned<Build>> {
    requireName(namespace, 'namespace');
    requireName(name, 'name');
    // Whether the write that landed was ours (mutate calls the step again after a lost compare-and-set).
    let changed = false;
    const result = await this.store.builds.mutate(objectKey(namespace, name), (b) => {
      const next = cancel(b, this.clock());
      changed = next !== undefined;
      return next;
    });
    if (!result) throw new BuildNotFoundError(`${namespace}/${name}`);
    if (changed && isTerminal(result.value.status.phase)) this.observer.finished(result.value);
    return result;
  }

  /**
   * The build as it is now, then each change, ending after the first terminal state.
   * @throws BuildNotFoundError before yielding anything when there is no such build.
   */
  async *watchBuild(namespace: string, name: string, signal?: AbortSignal): AsyncIterable<Versioned<Build>> {
    await this.getBuild(namespace, name);
    for await (const event of this.store.builds.watch({ filter: objectKey(namespace, name), signal })) {
      if (!event.value) throw new BuildNotFoundError(`${namespace}/${name}`);
      yield { value: event.value, revision: event.revision };
      if (isTerminal(event.value.status.phase)) return;
    }
  }
}

function nonEmpty(m: Record<string, string> | undefined): Record<string, string> | undefined {
  return m && Object.keys(m).length > 0 ? m : undefined;
}
