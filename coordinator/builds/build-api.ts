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
import {
  canonicalImage,
  MANIFEST_DIGEST,
  parseImageReference,
  pinnedReference,
  sameImage,
  type CanonicalImage,
} from '../../common/image-reference.js';
import {
  BUILD_PHASES,
  isTerminal,
  type BinarySource,
  type Build,
  type BuildCause,
  type BuildConfigStatus,
  type BuildConfig,
  type PendingBuild,
  MAX_PENDING_BUILDS,
  type BuildConfigSpec,
  type BuildPhase,
  type Versioned,
} from '../../api/types.js';
import { gitRefProblem, requireName, type BuildConfigInput } from '../../api/validation.js';
import type { PageRequest, StoreChange, StorePage, StoreSnapshot } from '../store/json-store.js';
import type { ConfigCache } from '../store/config-cache.js';
import type { StateStore } from '../store/state-store.js';
import { cancel } from './transitions.js';
import { IGNORE_TRANSITIONS, type TransitionObserver } from './transition-observer.js';

export interface BuildApiOptions {
  clock?: () => Date;
  newUid?: () => string;
  /** Told of the builds this API creates and ends (cancels), once each. */
  observer?: TransitionObserver;
  /** Removes a deleted build's logs (coordinator/logs/log-purge.ts); undefined: logs are left to age out. */
  purgeLogs?: (build: Build) => Promise<unknown>;
  /** The watch cache of configs StartBuild takes build numbers through; undefined: the store is read each time. */
  configs?: ConfigCache;
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
  /**
   * An image this build must use at exactly `digest` (an ImageChange trigger's new base). Where
   * the frozen strategy's image (docker.from, source.builderImage) names the same tag as `image`,
   * it becomes `repository@digest` for this build. Where it names another image (the trigger
   * watches a Dockerfile's own FROM), the Docker strategy pulls its bases for this build
   * (forcePull), so the daemon's older copy of the tag is not used.
   */
  pinImage?: { image: string; digest: string };
}

export interface ListBuildsFilter {
  namespace: string;
  configName?: string;
  phase?: BuildPhase;
}

/** Items a page of ListBuilds or ListBuildConfigs holds when the request names no size. */
export const DEFAULT_PAGE_SIZE = 500;
/** Most items a page may hold: what one page costs the coordinator's memory is bounded by it. */
export const MAX_PAGE_SIZE = 1000;

/** What a client asks of one page: `size` 0 or undefined for DEFAULT_PAGE_SIZE, `token` from the page before. */
export interface PageOptions {
  size?: number;
  token?: string;
}

/** A page of a listing and, unless it is the last, the token of the next. */
export interface Page<T> {
  items: Versioned<T>[];
  nextToken?: string;
}

/** What the Kubernetes API asks of a page: its own scope, token field and filter over the store's. */
export type StorePageRequest<T> = Omit<PageRequest<T>, 'filter'>;

/**
 * What clients can do with BuildConfigs and Builds. Inputs arrive validated in shape
 * (validation.ts); this checks what needs the store (existence, revisions) and writes only with
 * create or compare-and-set.
 */
export class BuildApi {
  private readonly clock: () => Date;
  private readonly newUid: () => string;
  private readonly observer: TransitionObserver;
  private readonly purgeLogs?: (build: Build) => Promise<unknown>;
  private readonly configs?: ConfigCache;

  constructor(
    private readonly store: StateStore,
    options: BuildApiOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.newUid = options.newUid ?? randomUUID;
    this.observer = options.observer ?? IGNORE_TRANSITIONS;
    this.purgeLogs = options.purgeLogs;
    this.configs = options.configs;
  }

  async createBuildConfig(input: BuildConfigInput): Promise<Versioned<BuildConfig>> {
    const { namespace, name, labels } = input.metadata;
    const annotations = nonEmpty(input.metadata.annotations);
    const config: BuildConfig = {
      metadata: {
        name,
        namespace,
        labels,
        ...(annotations ? { annotations } : {}),
        uid: this.newUid(),
        creationTimestamp: this.clock().toISOString(),
        generation: 1,
      },
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
      if (expectedRevision !== undefined && current.revision !== expectedRevision)
        throw new ConflictError(key, expectedRevision);
      const specChanged = JSON.stringify(current.value.spec) !== JSON.stringify(input.spec);
      const { annotations: before, ...kept } = current.value.metadata;
      const annotations = input.metadata.annotations === undefined ? before : nonEmpty(input.metadata.annotations);
      const next: BuildConfig = {
        ...current.value,
        metadata: {
          ...kept,
          labels,
          ...(annotations ? { annotations } : {}),
          generation: current.value.metadata.generation + (specChanged ? 1 : 0),
        },
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

  /**
   * One page of a namespace's BuildConfigs, in name order.
   * @throws InvalidInputError (pageSize), InvalidPageTokenError (pageToken)
   */
  async listBuildConfigsPage(namespace: string, page: PageOptions = {}): Promise<Page<BuildConfig>> {
    requireName(namespace, 'namespace');
    const size = pageSize(page.size);
    const { items, nextToken } = await this.store.buildConfigs.listPage({
      filter: `${namespace}.*`,
      scope: `${namespace}.*`,
      size,
      token: page.token || undefined,
      tokenField: 'pageToken',
    });
    return { items, ...(nextToken ? { nextToken } : {}) };
  }

  /** One page of the BuildConfigs of a namespace (every namespace when undefined), for the Kubernetes API. */
  pageBuildConfigs(namespace: string | undefined, req: StorePageRequest<BuildConfig>): Promise<StorePage<BuildConfig>> {
    if (namespace !== undefined) requireName(namespace, 'namespace');
    return this.store.buildConfigs.listPage({ ...req, filter: namespace === undefined ? '>' : `${namespace}.*` });
  }

  /** One page of the Builds of a namespace (every namespace when undefined), for the Kubernetes API. */
  pageBuilds(namespace: string | undefined, req: StorePageRequest<Build>): Promise<StorePage<Build>> {
    if (namespace !== undefined) requireName(namespace, 'namespace');
    return this.store.builds.listPage({ ...req, filter: namespace === undefined ? '>' : `${namespace}.*` });
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
    if (expectedRevision !== undefined && current.revision !== expectedRevision)
      throw new ConflictError(objectKey(namespace, name), expectedRevision);
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
   * it under the agent would lose its report). Its logs go with it (every attempt's), after the
   * build: a delete that fails leaves them; logs left by a purge that fails age out.
   * @throws BuildNotFoundError, ConflictError
   */
  async deleteBuild(namespace: string, name: string, expectedRevision?: number): Promise<Versioned<Build>> {
    const key = objectKey(namespace, name);
    let current = await this.getBuild(namespace, name);
    if (expectedRevision !== undefined && current.revision !== expectedRevision)
      throw new ConflictError(key, expectedRevision);
    if (!isTerminal(current.value.status.phase)) {
      current = await this.cancelBuild(namespace, name);
      if (!isTerminal(current.value.status.phase)) {
        throw new BuildStillRunningError(key);
      }
    }
    await this.store.builds.delete(key, current.revision);
    await this.purgeLogs?.(current.value);
    await this.deletePlatformBuilds(current.value);
    return current;
  }

  /**
   * A deleted build of several platforms takes its platforms' builds with it: each cancelled
   * and deleted; one its agent is still stopping stays (BuildStillRunning) until the history
   * pruning of its config finds it ended and parentless.
   */
  private async deletePlatformBuilds(parent: Build): Promise<void> {
    for (const p of parent.status.platforms ?? []) {
      await this.deleteBuild(parent.metadata.namespace, p.build).catch((err: unknown) => {
        if (!(err instanceof BuildNotFoundError || err instanceof BuildStillRunningError)) throw err;
      });
    }
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
    if (req.pinImage) {
      const parsed = canonicalImage(req.pinImage.image);
      if (typeof parsed === 'string') problems.push({ field: 'pinImage.image', message: parsed });
      if (!MANIFEST_DIGEST.test(req.pinImage.digest))
        problems.push({ field: 'pinImage.digest', message: `"${req.pinImage.digest}" is not a sha256 digest` });
    }
    if (problems.length > 0) throw new InvalidInputError(problems, 'StartBuild request');

    const configKey = objectKey(req.namespace, req.configName);
    // Checked on the config the number is taken from (inside the compare-and-set), so a
    // refused start changes nothing.
    const requireContext = (c: BuildConfig) => {
      const source = c.spec.source;
      if (!req.binary && source.binary && !source.git && source.dockerfile === undefined) {
        throw new InvalidInputError([
          {
            field: 'context',
            message: `BuildConfig "${req.configName}" builds from an uploaded context: start it with one (slipway start --from-dir)`,
          },
        ]);
      }
    };
    const request: PendingBuild['request'] = {
      ref: req.ref,
      image: req.image,
      pinImage: req.pinImage,
      cause: req.cause,
    };
    let decide = req.decide;
    // A triggered build is recorded as pending in the compare-and-set that numbers it, so a
    // coordinator that dies before creating it leaves a record the pending-build sweeper
    // finishes from (pending-builds.ts), and the trigger's event is not lost with it.
    const settled = decide
      ? await this.settledPendingBuilds(req.namespace, (await this.getBuildConfig(req.namespace, req.configName)).value)
      : new Set<number>();
    for (;;) {
      let declined = false;
      let pending: PendingBuild | undefined;
      const bump = (c: BuildConfig): BuildConfig | undefined => {
        requireContext(c);
        const status = decide ? decide(c) : c.status;
        declined = status === undefined;
        if (status === undefined) return undefined;
        const number = c.status.lastVersion + 1;
        pending = decide
          ? { number, uid: this.newUid(), reservedAt: this.clock().toISOString(), request: dropUndefined(request) }
          : undefined;
        const kept = (status.pendingBuilds ?? []).filter((p) => !settled.has(p.number));
        const pendingBuilds = pending ? [...kept, pending].slice(-MAX_PENDING_BUILDS) : status.pendingBuilds;
        return {
          ...c,
          status: {
            ...status,
            lastVersion: number,
            ...(pendingBuilds?.length ? { pendingBuilds } : { pendingBuilds: undefined }),
          },
        };
      };
      const bumped = this.configs
        ? await this.configs.mutate(configKey, bump)
        : await this.store.buildConfigs.mutate(configKey, bump);
      if (!bumped) throw new BuildConfigNotFoundError(`${req.namespace}/${req.configName}`);
      if (declined) return undefined;
      // The trigger's record landed with this number: a retry for a skipped number must not ask again.
      decide = undefined;
      const config = bumped.value;
      const build = this.newBuild(config, config.status.lastVersion, pending?.uid ?? this.newUid(), {
        ...request,
        binary: req.binary,
      });
      const created = await this.createNumbered(build);
      if (created) return created;
    }
  }

  /**
   * Creates the build a pending record reserved (the coordinator that reserved it did not), from
   * the config as it is now and the request the record kept. Whoever creates it first wins; the
   * other finds the same uid and takes that build as its own.
   * @returns the build, or undefined when its name was deleted or taken by another build.
   */
  async createPendingBuild(config: BuildConfig, pending: PendingBuild): Promise<Versioned<Build> | undefined> {
    return this.createNumbered(this.newBuild(config, pending.number, pending.uid, pending.request));
  }

  /** Pending records of `config` whose builds exist (or were deleted): they need no recovery. */
  private async settledPendingBuilds(namespace: string, config: BuildConfig): Promise<Set<number>> {
    const settled = new Set<number>();
    await Promise.all(
      (config.status.pendingBuilds ?? []).map(async (p) => {
        const key = objectKey(namespace, `${config.metadata.name}-${p.number}`);
        const found = await this.store.builds.get(key);
        if (found?.value.metadata.uid === p.uid || (!found && (await this.store.builds.wasDeleted(key))))
          settled.add(p.number);
      }),
    );
    return settled;
  }

  /** Creates `build` under its name; undefined when that name was deleted or another build holds it. */
  private async createNumbered(build: Build): Promise<Versioned<Build> | undefined> {
    const key = objectKey(build.metadata.namespace, build.metadata.name);
    // A deleted build's name is not given again: its log and its job's de-duplication id
    // are keyed by name and attempt, and would be taken for the new build's. So the create
    // fails when the key was ever written, deleted or not.
    try {
      const revision = await this.store.builds.createUnused(key, build);
      this.observer.created(build);
      return { value: build, revision };
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      // The sweeper may have made this very build (same uid) from its pending record.
      const existing = await this.store.builds.getLatest(key);
      return existing?.value.metadata.uid === build.metadata.uid ? existing : undefined;
    }
  }

  /** Build number `number` of `config`, frozen from its spec with the request's overrides. */
  private newBuild(
    config: BuildConfig,
    number: number,
    uid: string,
    request: PendingBuild['request'] & { binary?: Required<BinarySource> },
  ): Build {
    const frozen = structuredClone(config.spec);
    if (request.binary) {
      frozen.source.binary = request.binary;
      delete frozen.source.git;
      delete frozen.source.sourceSecret;
    } else {
      delete frozen.source.binary;
    }
    if (request.ref) {
      if (!frozen.source.git)
        throw new InvalidInputError([
          { field: 'ref', message: `BuildConfig "${config.metadata.name}" has no git source to take a ref of` },
        ]);
      frozen.source.git.ref = request.ref;
    }
    if (request.image) frozen.output.image = request.image;
    if (request.pinImage) pinStrategyImage(frozen, request.pinImage);
    return {
      metadata: {
        name: `${config.metadata.name}-${number}`,
        namespace: config.metadata.namespace,
        uid,
        creationTimestamp: this.clock().toISOString(),
        generation: 1,
        labels: { 'slipway.dev/buildconfig': config.metadata.name },
      },
      spec: {
        configName: config.metadata.name,
        configGeneration: config.metadata.generation,
        config: frozen,
        triggeredBy: [request.cause ?? { type: 'Manual', message: 'started by a client' }],
      },
      status: { phase: 'New', attempt: 0 },
    };
  }

  /**
   * Changes a config's status alone, by compare-and-set (retried on conflict): `change` gets the
   * config as it is and returns the next status, or undefined to leave it. For triggers that
   * record what they saw without starting a build. It must be pure: it may run more than once.
   * @returns the config as stored after, or undefined when there is no such config.
   */
  async updateBuildConfigStatus(
    namespace: string,
    name: string,
    change: (config: BuildConfig) => BuildConfigStatus | undefined,
  ): Promise<Versioned<BuildConfig> | undefined> {
    requireName(namespace, 'namespace');
    requireName(name, 'name');
    return this.store.buildConfigs.mutate(objectKey(namespace, name), (c) => {
      const status = change(c);
      return status === undefined ? undefined : { ...c, status };
    });
  }

  async getBuild(namespace: string, name: string): Promise<Versioned<Build>> {
    requireName(namespace, 'namespace');
    requireName(name, 'name');
    const found = await this.store.builds.get(objectKey(namespace, name));
    if (!found) throw new BuildNotFoundError(`${namespace}/${name}`);
    return found;
  }

  /**
   * One page of a namespace's builds that pass the filter, in key order: by config name, then by
   * number (`app-2` before `app-10`). The next page starts after the last key this one read, so
   * a build is listed at most once however the builds change between pages.
   * @throws InvalidInputError (configName, phase, pageSize), InvalidPageTokenError (pageToken)
   */
  async listBuildsPage(filter: ListBuildsFilter, page: PageOptions = {}): Promise<Page<Build>> {
    checkFilter(filter);
    const size = pageSize(page.size);
    const { namespace, configName, phase } = filter;
    const { items, nextToken } = await this.store.builds.listPage({
      filter: `${namespace}.*`,
      scope: `${namespace}.*?configName=${configName ?? ''}&phase=${phase ?? ''}`,
      size,
      token: page.token || undefined,
      tokenField: 'pageToken',
      accept: (_key, b) => (!configName || b.spec.configName === configName) && (!phase || b.status.phase === phase),
    });
    return { items, ...(nextToken ? { nextToken } : {}) };
  }

  /** Every build that passes the filter, oldest first: all in memory, for callers that need few (one config's). */
  async listBuilds(filter: ListBuildsFilter): Promise<Versioned<Build>[]> {
    checkFilter(filter);
    const items = await this.store.builds.list(`${filter.namespace}.*`);
    return items
      .filter((b) => !filter.configName || b.value.spec.configName === filter.configName)
      .filter((b) => !filter.phase || b.value.status.phase === filter.phase)
      .sort(
        (a, b) =>
          a.value.metadata.creationTimestamp.localeCompare(b.value.metadata.creationTimestamp) ||
          a.revision - b.revision,
      );
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
      if (expectedRevision !== undefined && current.revision !== expectedRevision)
        throw new ConflictError(key, expectedRevision);
      const { annotations: _before, ...kept } = current.value.metadata;
      const annotations = nonEmpty(meta.annotations);
      const next: Build = {
        ...current.value,
        metadata: {
          ...kept,
          labels: {
            ...meta.labels,
            'slipway.dev/buildconfig': current.value.metadata.labels['slipway.dev/buildconfig'],
          },
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

function checkFilter(filter: ListBuildsFilter): void {
  requireName(filter.namespace, 'namespace');
  if (filter.configName) requireName(filter.configName, 'configName');
  if (filter.phase && !BUILD_PHASES.includes(filter.phase)) {
    throw new InvalidInputError([
      { field: 'phase', message: `"${filter.phase}" is not one of ${BUILD_PHASES.join(', ')}` },
    ]);
  }
}

/** A requested page size, or the default for 0 or undefined. @throws InvalidInputError naming pageSize */
function pageSize(size: number | undefined): number {
  if (size === undefined || size === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw new InvalidInputError([
      {
        field: 'pageSize',
        message: `must be between 1 and ${MAX_PAGE_SIZE} (0: the default, ${DEFAULT_PAGE_SIZE}); got ${size}`,
      },
    ]);
  }
  return size;
}

/**
 * Applies StartBuildRequest.pinImage to a build's frozen spec: the strategy's image and every
 * source image (source.images[].from) that names the pinned tag become `repository@digest`.
 * When neither the strategy's image nor a source image names it (the trigger watches a
 * Dockerfile's own FROM), the Docker strategy pulls its bases afresh (forcePull).
 */
export function pinStrategyImage(frozen: BuildConfigSpec, pin: { image: string; digest: string }): void {
  const watched = canonicalImage(pin.image) as CanonicalImage;
  const same = (text: string | undefined) => {
    if (!text) return false;
    const c = canonicalImage(text);
    return typeof c !== 'string' && sameImage(c, watched);
  };
  let pinnedSource = false;
  for (const image of frozen.source.images ?? []) {
    if (!same(image.from)) continue;
    image.from = pinnedReference(image.from, pin.digest);
    pinnedSource = true;
  }
  const { docker, source } = frozen.strategy;
  if (docker && same(docker.from)) docker.from = pinnedReference(docker.from!, pin.digest);
  else if (source && same(source.builderImage)) source.builderImage = pinnedReference(source.builderImage, pin.digest);
  else if (docker && !pinnedSource) docker.forcePull = true;
}

function nonEmpty(m: Record<string, string> | undefined): Record<string, string> | undefined {
  return m && Object.keys(m).length > 0 ? m : undefined;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
