import { mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, errorMessage, isAbortError } from '../common/errors.js';
import { formatImageReference, parseImageReference } from '../common/image-reference.js';
import { cpuToCfs, formatResources, parseQuantity } from '../common/quantity.js';
import {
  AgentInternalError,
  BuildFailure,
  BuildStepFailedError,
  DockerBuildFailedError,
  InvalidContextError,
  InvalidDockerfileError,
  MissingBuildSecretError,
  MissingPushSecretError,
  MissingSourceSecretError,
  MissingPullSecretError,
  OutOfMemoryError,
  PushImageFailedError,
  RegistryAuthFailedError,
  ResourceLimitsUnsupportedError,
  UnknownBuildSecretError,
  WrongBuildSecretTypeError,
} from './build-failures.js';
import type { ContainerLimits, ContainerRuntime } from './container-runtime/types.js';
import { PushError } from './container-runtime/types.js';
import { isRegistryAuthRefusal, isTransientRegistryFailure } from './container-runtime/registry-refusals.js';
import { authFor } from '../common/registry-auth.js';
import { pushByDigest } from './container-runtime/push-by-digest.js';
import { LineSplitter } from './logs/line-splitter.js';
import type { BuildCacheGuard } from './gc/build-cache-guard.js';
import type { ClaimedBuild, CustomBuilderStrategy, DockerStrategy } from './jobs/claimed-build.js';
import { fetchGitSource } from './source/git-source.js';
import { extractContext, type ContextLimits } from './source/safe-extract.js';
import { copyImageSources, imageAuth, type ResolvedSourceImage } from './source/image-sources.js';
import type { SourceImageLeases } from './source/source-image-leases.js';
import type { UploadedContexts } from './source/uploaded-contexts.js';
import {
  baseImages,
  DockerfileEditError,
  editDockerfile,
  hasDaemonPulledBase,
  pullableBaseImages,
} from './strategies/dockerfile.js';
import {
  buildSourceToImage,
  pullBuilderImage,
  pullPreviousImage,
  type SourceToImageOptions,
} from './strategies/source-to-image.js';
import { scopeCacheMounts } from './strategies/cache-mounts.js';
import { DockerSocketNotPrivateError, runCustomBuilder } from './strategies/custom-builder.js';
import { unknownSecretMounts } from './strategies/secret-mounts.js';
import { StageTimer } from './stages/stage-timer.js';

export { authFor };

/** Labels on everything the agent creates for a build, so it can find and remove it later. */
export const LABELS = {
  build: 'slipway.dev/build',
  namespace: 'slipway.dev/namespace',
  attempt: 'slipway.dev/attempt',
  agent: 'slipway.dev/agent',
} as const;

export interface BuildResult {
  image: string;
  digest: string;
  commit: string;
}

export interface RunOptions {
  /** The build as the coordinator handed it over on claim: the frozen config and the credentials of its secrets. */
  build: ClaimedBuild;
  runtime: ContainerRuntime;
  /** Agent name, put on labels. */
  agent: string;
  /** Where the build's own folder is made (and removed afterwards). */
  workDir: string;
  /** The git-lfs binary, for a git source with LFS files; undefined: `git-lfs` on PATH. */
  gitLfs?: string;
  /** Registries the agent's own pushes (a platform build's, by digest) speak plain HTTP to, besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** Every line of output: git's, the daemon's build and push progress. */
  onLine: (line: string) => void;
  /** Where uploaded contexts are read from. */
  uploads?: UploadedContexts;
  /** What an uploaded context may unpack to (bytes, entries, compression ratio). */
  contextLimits: ContextLimits;
  /** Times the attempt's stages; read it after a failure for the stages reached. */
  stages?: StageTimer;
  /**
   * Whether the daemon itself is held to the build's `resources` (a private daemon of the build's
   * own). A Dockerfile build with resources runs only then: BuildKit ignores per-build limits.
   */
  daemonLimited: boolean;
  /**
   * The socket of a daemon that is this build's alone (ExecutorLease.privateSocket): what a
   * custom builder's exposeDockerSocket is given. Undefined: such a build fails DockerSocketNotPrivate.
   */
  privateSocket?: string;
  /** Told the images the build uses (its output, FROM and builder images), so GC keeps them; warm here once it completes. */
  useImages?: (references: string[]) => void;
  /**
   * Told the images the build uses only while it runs (its source images, removed after when the
   * agent pulled them): GC keeps them meanwhile, but they are not warm here after.
   */
  holdImages?: (references: string[]) => void;
  /** The agent's record of the source images it pulled and the builds that use them. */
  sourceImageLeases: SourceImageLeases;
  /**
   * Records the digests this attempt resolved its source images to, before it copies from them,
   * and answers those to use (see ImageSourceOptions.record). Undefined: not recorded.
   */
  recordSourceImages?: (images: ResolvedSourceImage[]) => Promise<ResolvedSourceImage[]>;
  /**
   * Held by a Dockerfile build from before it sends its context until BuildKit holds it, so that
   * the image GC's build-cache prune cannot take the context meanwhile. The agent's GC uses the same.
   */
  buildCache: BuildCacheGuard;
  signal: AbortSignal;
}

/**
 * Runs one build: fetch the source, build the image, push it. Returns what was pushed, or throws
 * a BuildFailure saying why not (AbortedError when `signal` aborted). Whatever happens, the
 * build's folder and any container labelled with this attempt are removed before it returns.
 */
export async function runBuild(o: RunOptions): Promise<BuildResult> {
  const { ref, source, strategy, output, resources, credentials } = o.build;
  const labels = {
    [LABELS.build]: ref.name,
    [LABELS.namespace]: ref.namespace,
    [LABELS.attempt]: String(ref.attempt),
    [LABELS.agent]: o.agent,
  };
  const dir = await mkdtemp(path.join(o.workDir, `${ref.namespace}-${ref.name}-`));
  const stepContainers: string[] = [];
  try {
    if (source.sourceSecret && !credentials.source) {
      throw new MissingSourceSecretError(
        `source secret "${source.sourceSecret}" does not exist in namespace "${ref.namespace}"`,
      );
    }
    if (strategy.pullSecret && !credentials.pull) {
      throw new MissingPullSecretError(
        `pull secret "${strategy.pullSecret}" does not exist in namespace "${ref.namespace}"`,
      );
    }
    // Source images' pull secrets too, before anything is fetched (MissingSourceImagePullSecret).
    source.images.forEach((image, i) => imageAuth(image, i, credentials.sourceImages));
    if (output.pushSecret && !credentials.push) {
      throw new MissingPushSecretError(
        `push secret "${output.pushSecret}" does not exist in namespace "${ref.namespace}"`,
      );
    }
    if (strategy.kind === 'docker' && (resources.memory || resources.cpu) && !o.daemonLimited) {
      throw new ResourceLimitsUnsupportedError(
        `spec.resources (${formatResources(resources)}) cannot be enforced here: this agent builds Dockerfiles with BuildKit on a shared Docker daemon, which ignores a build's own limits; run it on an agent with the dind executor (a daemon per limited build), or remove spec.resources`,
      );
    }
    if (strategy.kind === 'custom' && strategy.exposeDockerSocket && !o.privateSocket) {
      throw new DockerSocketNotPrivateError(
        `strategy.custom.exposeDockerSocket: this agent builds on a Docker daemon other builds share (the host executor), and a builder given it could see and change them; run it on an agent with the dind executor (a daemon of the build's own), or build without exposeDockerSocket`,
      );
    }
    const secrets = strategy.kind !== 'source' ? buildSecrets(o.build, strategy) : undefined;
    const image = outputReference(output.image);
    o.useImages?.([image]);

    const stages = o.stages ?? new StageTimer();
    const { contextDir, commit, dockerfile } = await stages.run('FetchInputs', async () => {
      const fetched = await fetchSource(o, dir);
      await copyImageSources({
        images: source.images,
        recorded: o.build.sourceImageDigests,
        record: o.recordSourceImages,
        credentials: credentials.sourceImages,
        contextDir: fetched.contextDir,
        runtime: o.runtime,
        labels,
        limits: o.contextLimits,
        leases: o.sourceImageLeases,
        holdImages: o.holdImages,
        onContainer: (id) => stepContainers.push(id),
        onLine: o.onLine,
        signal: o.signal,
      });
      return {
        ...fetched,
        dockerfile: strategy.kind === 'docker' ? await prepareDockerfile(o, strategy, fetched.contextDir) : undefined,
      };
    });
    if (strategy.kind === 'custom') {
      const pull = {
        runtime: o.runtime,
        builderImage: strategy.image,
        forcePull: strategy.forcePull,
        pullAuth: credentials.pull,
        onLine: o.onLine,
        signal: o.signal,
      };
      o.useImages?.([strategy.image]);
      await stages.run('PullImages', () => pullBuilderImage(pull));
      o.onLine(`Building ${image}`);
      const digest = await stages.run('Build', () =>
        runCustomBuilder({
          ...pull,
          contextDir,
          env: strategy.env,
          image,
          description: {
            namespace: ref.namespace,
            name: ref.name,
            attempt: ref.attempt,
            config: o.build.configName,
            source: {
              git: source.git ? { uri: source.git.uri, ref: source.git.ref, commit } : undefined,
              contextDir: source.contextDir,
              upload: !!source.upload,
            },
          },
          pushAuth: credentials.push,
          workDir: dir,
          secrets,
          dockerSocket: strategy.exposeDockerSocket ? o.privateSocket : undefined,
          labels,
          limits: buildLimits(resources),
          onContainer: (id) => stepContainers.push(id),
        }).catch((err: unknown) => {
          if (err instanceof BuildFailure) throw outOfMemory(err, resources);
          if (o.signal.aborted) throw err;
          throw new DockerBuildFailedError(`the Docker daemon refused the custom builder: ${errorMessage(err)}`, {
            cause: err,
          });
        }),
      );
      o.onLine(`The builder pushed ${image}@${digest}`);
      return { image, digest, commit: commit ?? '' };
    } else if (strategy.kind === 'source') {
      const s2iOptions: SourceToImageOptions = {
        runtime: o.runtime,
        contextDir,
        builderImage: strategy.builderImage,
        scriptsUrl: strategy.scriptsUrl,
        env: strategy.env,
        incremental: strategy.incremental,
        forcePull: strategy.forcePull,
        image,
        pushAuth: credentials.push,
        pullAuth: credentials.pull,
        labels,
        limits: buildLimits(resources),
        onLine: o.onLine,
        onContainer: (id) => stepContainers.push(id),
        signal: o.signal,
      };
      o.useImages?.([strategy.builderImage]);
      const previous = await stages.run('PullImages', async () => {
        await pullBuilderImage(s2iOptions);
        return s2iOptions.incremental ? await pullPreviousImage(s2iOptions) : false;
      });
      o.onLine(`Building ${image}`);
      await stages.run('Build', () =>
        buildSourceToImage({ ...s2iOptions, previousImage: previous }).catch((err: unknown) => {
          if (err instanceof BuildFailure) throw outOfMemory(err, resources);
          if (o.signal.aborted) throw err;
          throw new DockerBuildFailedError(
            `the Docker daemon refused the Source-to-Image build: ${errorMessage(err)}`,
            { cause: err },
          );
        }),
      );
    } else {
      const text = await readFile(path.join(contextDir, dockerfile!), 'utf8');
      await checkSecretMounts(o, strategy, contextDir);
      o.useImages?.(baseImages(text));
      const forcePull = strategy.forcePull;
      const platform = o.build.platform;
      let pull: boolean;
      if (platform) {
        // The agent's pull would fetch the node's own platform's variant, and the daemon keeps
        // one image a tag: the daemon is asked to pull the base images itself, during Build,
        // in the build's platform's variant.
        o.onLine(
          `Building for ${platform}: the daemon pulls the ${platform} variant of the base images during the build`,
        );
        pull = true;
      } else {
        await stages.run('PullImages', () => pullBaseImages(o, pullableBaseImages(text), forcePull));
        // Base images named by build arguments (FROM $BASE), or of another platform, are the
        // daemon's to resolve: it pulls those itself, during Build (with forcePull, it is asked to).
        const daemonPulls = hasDaemonPulledBase(text);
        if (daemonPulls)
          o.onLine('Base images of FROM $ARG or FROM --platform are pulled by the daemon during the build');
        pull = forcePull && daemonPulls;
      }
      o.onLine(`Building ${image}${platform ? ` for ${platform}` : ''}`);
      const built = await stages.run('Build', () =>
        buildImage(o, {
          contextDir,
          dockerfile: dockerfile!,
          image,
          labels,
          docker: strategy,
          pull,
          platform,
          secrets,
        }),
      );
      if (platform) {
        // A platform build's image is one of several an index names: pushed by digest, never
        // to the output tag (the index is pushed there once every platform's is in).
        const repository = repositoryOf(image);
        const digest = await stages.run('PushImage', () =>
          pushByDigest({
            runtime: o.runtime,
            // By id: the image this build made, whatever another build tagged `image` since.
            image: built ?? image,
            repository,
            platform,
            auth: credentials.push,
            insecureRegistries: o.insecureRegistries,
            workDir: dir,
            onLine: o.onLine,
            signal: o.signal,
          }),
        );
        o.onLine(`Pushed ${repository}@${digest} (${platform})`);
        return { image: repository, digest, commit: commit ?? '' };
      }
    }

    const digest = await stages.run('PushImage', () => pushImage(o, image));
    o.onLine(`Pushed ${image}@${digest}`);
    return { image, digest, commit: commit ?? '' };
  } catch (err) {
    if (err instanceof BuildFailure || err instanceof AbortedError) throw err;
    if (o.signal.aborted || isAbortError(err)) throw new AbortedError('build aborted', { cause: err });
    throw new AgentInternalError(errorMessage(err), { cause: err });
  } finally {
    await cleanUp(o, labels, dir, stepContainers);
  }
}

/**
 * The values of the build secrets the config declares, by id; undefined when it declares none.
 * @throws MissingBuildSecretError when one names a secret that does not exist,
 *   WrongBuildSecretTypeError when one names a secret that is not opaque.
 */
function buildSecrets(
  build: ClaimedBuild,
  strategy: DockerStrategy | CustomBuilderStrategy,
): Map<string, Buffer> | undefined {
  if (strategy.secrets.length === 0) return undefined;
  const values = new Map<string, Buffer>();
  const where = `namespace "${build.ref.namespace}"`;
  for (const { id, secretName } of strategy.secrets) {
    const handed = build.credentials.build.get(id);
    if (!handed)
      throw new MissingBuildSecretError(
        `build secret "${id}" names secret "${secretName}", which does not exist in ${where}`,
      );
    if ('wrongType' in handed)
      throw new WrongBuildSecretTypeError(
        `build secret "${id}" names secret "${secretName}" in ${where}, a ${handed.wrongType} secret: a build secret must name an opaque secret`,
      );
    values.set(id, handed.value);
  }
  return values;
}

/**
 * Fails the build when its Dockerfile mounts a secret id the config does not declare: BuildKit
 * would mount nothing there and the step would run without it. The Dockerfile as the user wrote
 * it is read (the inline one, or the one in the source), so that line numbers are theirs; the
 * strategy's edits add no RUN.
 * @throws UnknownBuildSecretError naming the first such id and its line.
 */
async function checkSecretMounts(o: RunOptions, docker: DockerStrategy, contextDir: string): Promise<void> {
  const written = o.build.source.dockerfile ?? (await readFile(path.join(contextDir, docker.dockerfilePath), 'utf8'));
  const unknown = unknownSecretMounts(written, new Set(docker.secrets.map((s) => s.id)));
  const first = unknown[0];
  if (!first) return;
  const declared = docker.secrets.map((s) => `"${s.id}"`).join(', ') || 'none';
  throw new UnknownBuildSecretError(
    `the Dockerfile mounts build secret "${first.id}" at line ${first.line} (${first.text}), which strategy.docker.secrets does not declare (declared: ${declared})`,
  );
}

/** A push that fails for a reason worth another try (a registry's 5xx, a cut connection) is made this many times at most. */
const PUSH_TRIES = 3;

/**
 * Pushes the built image and returns the digest the registry stored. A transient registry
 * failure (isTransientRegistryFailure) is tried again, after 1 s then 2 s: layers the registry
 * already holds are not sent again.
 */
async function pushImage(o: RunOptions, image: string): Promise<string> {
  o.onLine(`Pushing ${image}`);
  for (let tryNo = 1; ; tryNo++) {
    try {
      const { digest } = await o.runtime.pushImage(image, {
        signal: o.signal,
        auth: o.build.credentials.push,
        onOutput: (t) => emitLines(t, o.onLine),
      });
      return digest;
    } catch (err) {
      const again =
        tryNo < PUSH_TRIES && !o.signal.aborted && err instanceof PushError && isTransientRegistryFailure(err.message);
      if (!again) throw pushFailure(o, image, err);
      o.onLine(`Pushing ${image} failed (${err.message}); trying again`);
      await sleep(1000 * tryNo, undefined, { signal: o.signal }).catch(() => undefined);
    }
  }
}

/** The typed error of a push that failed for good. */
function pushFailure(o: RunOptions, image: string, err: unknown): Error {
  if (o.signal.aborted) return new AbortedError('build aborted', { cause: err });
  if (!(err instanceof PushError)) return err instanceof Error ? err : new Error(String(err));
  if (isRegistryAuthRefusal(err.message)) {
    const pushAuth = o.build.credentials.push;
    return new RegistryAuthFailedError(
      `the registry refused ${image} ${pushAuth ? "with the push secret's credentials" : 'without credentials (no push secret)'}: ${err.message}`,
      { cause: err },
    );
  }
  return new PushImageFailedError(`pushing ${image} failed: ${err.message}`, { cause: err });
}

/**
 * Pulls the Dockerfile's base images before the build, so that PullImages is timed on its own:
 * each one the daemon lacks, or every one with forcePull. The legacy builder then finds them
 * and pulls nothing itself, except images only it can resolve (FROM $ARG, FROM --platform:
 * left out of `bases`).
 * The pull secret's credentials go only to their own registry.
 */
async function pullBaseImages(o: RunOptions, bases: string[], forcePull: boolean): Promise<void> {
  const pullAuth = o.build.credentials.pull;
  for (const base of bases) {
    if (!forcePull && (await o.runtime.inspectImage(base))) continue;
    o.onLine(`Pulling base image ${base}`);
    try {
      await o.runtime.pullImage(base, {
        signal: o.signal,
        auth: authFor(base, pullAuth),
        onOutput: (t) => emitLines(t, o.onLine),
      });
    } catch (err) {
      if (o.signal.aborted) throw new AbortedError('build aborted', { cause: err });
      const message = errorMessage(err);
      if (isRegistryAuthRefusal(message)) {
        throw new RegistryAuthFailedError(
          `pulling base image ${base} was refused ${pullAuth ? "with the pull secret's credentials" : 'without credentials (no pull secret)'}: ${message.trim()}`,
          { cause: err },
        );
      }
      throw new DockerBuildFailedError(`pulling base image ${base} failed: ${message.trim()}`, { cause: err });
    }
  }
}

/** Builds the Dockerfile image, tagged `b.image`; returns its id when the daemon said it (undefined: it did not). */
async function buildImage(
  o: RunOptions,
  b: {
    contextDir: string;
    dockerfile: string;
    image: string;
    labels: Record<string, string>;
    docker: DockerStrategy;
    /** Ask the daemon to pull base images itself (only those the agent could not name, or all for a platform build). */
    pull: boolean;
    /** The platform to build for (a platform build); undefined: the daemon's own. */
    platform?: string;
    /** Build secrets by id; undefined: none. */
    secrets?: Map<string, Buffer>;
  },
): Promise<string | undefined> {
  const { docker } = b;
  const { resources, credentials } = o.build;
  let release = () => {};
  let id: string | undefined;
  try {
    // Before the context goes out: a prune must not find it between BuildKit's reads of it.
    release = await o.buildCache.holdContext(o.signal);
    const events = o.runtime.buildImage({
      contextDir: b.contextDir,
      dockerfile: b.dockerfile,
      tag: b.image,
      buildArgs: Object.fromEntries(docker.buildArgs.map((a) => [a.name, a.value])),
      labels: b.labels,
      noCache: docker.noCache,
      target: docker.target,
      pull: b.pull || undefined,
      platform: b.platform,
      pullAuth: credentials.pull,
      secrets: b.secrets,
      signal: o.signal,
    });
    // The daemon's stream pieces end anywhere, often mid-line: lines are put back together.
    const output = new LineSplitter((line) => emitLines(line, o.onLine));
    try {
      for await (const event of events) {
        if (event.kind === 'context-held') release();
        else if (event.kind === 'output') output.write(event.text);
        else if (event.kind === 'lines') output.writeLines(event.lines);
        else if (event.kind === 'image') id = event.id;
        else if (event.kind === 'error') throw outOfMemory(buildError(event.message, event.step), resources);
      }
    } finally {
      output.end();
    }
    return id;
  } catch (err) {
    if (err instanceof BuildFailure) throw err;
    if (o.signal.aborted) throw new AbortedError('build aborted', { cause: err });
    throw new DockerBuildFailedError(`the Docker daemon refused the build: ${errorMessage(err)}`, { cause: err });
  } finally {
    release();
  }
}

/**
 * A step that died with 137 (SIGKILL) under a memory limit was, in all likelihood, the kernel's
 * OOM killer at that limit: say so, rather than "exit code 137".
 */
function outOfMemory(failure: BuildFailure, resources: ClaimedBuild['resources']): BuildFailure {
  if (failure.exitCode !== 137 || !resources.memory) return failure;
  return new OutOfMemoryError(
    `a build step was killed at the memory limit of ${resources.memory} (exit code 137): ${failure.message}`,
    {
      exitCode: 137,
      cause: failure,
    },
  );
}

/**
 * What a BuildKit build's final error means. A process that exited non-zero ("…: exit code: 3",
 * on every BuildKit version) is the step's failure, named with the step; a registry refusal is
 * an authentication failure; a Dockerfile the frontend cannot read (a parse error, an unknown
 * instruction or `--mount` type) is InvalidDockerfile, naming the line; anything else (a COPY of
 * a file the context lacks) is the build's own, named with its step.
 */
export function buildError(message: string, step?: string): BuildFailure {
  const text = message.trim();
  const exit = /exit code: (\d+)\s*$/.exec(text);
  if (exit) {
    const code = Number(exit[1]);
    return new BuildStepFailedError(
      step ? `build step "${step}" failed with exit code ${code}` : `a build step failed: ${text}`,
      { exitCode: code },
    );
  }
  if (isRegistryAuthRefusal(text)) return new RegistryAuthFailedError(`pulling a base image was refused: ${text}`);
  const parse = /dockerfile parse error (line \d+): (.*)$/i.exec(text);
  if (parse) return new InvalidDockerfileError(`the Dockerfile cannot be built, ${parse[1]}: ${parse[2]}`);
  return new DockerBuildFailedError(`docker build failed${step ? ` at ${step}` : ''}: ${text}`);
}

/** Name the build's own Dockerfile takes in the context when Slipway wrote or edited it. */
const GENERATED_DOCKERFILE = '.slipway.Dockerfile';

/** The build's CPU and memory limits in Docker's terms. */
export function buildLimits(resources: ClaimedBuild['resources']): ContainerLimits {
  const memory = resources.memory ? parseQuantity(resources.memory) : undefined;
  const cpu = resources.cpu ? parseQuantity(resources.cpu) : undefined;
  return { memoryBytes: memory ? Math.floor(memory) : undefined, ...(cpu ? cpuToCfs(cpu) : {}) };
}

/**
 * The build's source in a folder: an uploaded context unpacked, the git source's context
 * folder, or an empty folder when the config has only an inline Dockerfile or source images
 * (which runBuild copies in after).
 */
async function fetchSource(o: RunOptions, dir: string): Promise<{ contextDir: string; commit?: string }> {
  const { source } = o.build;
  let contextDir: string;
  let commit: string | undefined;
  const upload = source.upload;
  if (upload) {
    if (!o.uploads) throw new InvalidContextError('this agent cannot read uploaded contexts');
    o.onLine(`Unpacking the uploaded context (${upload.size} bytes, sha256 ${upload.sha256})`);
    contextDir = path.join(dir, 'context');
    const { files, bytes } = await extractContext(await o.uploads.read(upload.object), {
      dir: contextDir,
      ...o.contextLimits,
      sha256: upload.sha256,
    });
    o.onLine(`Unpacked ${files} files, ${bytes} bytes`);
  } else if (source.git) {
    const git = source.git;
    o.onLine(`Fetching ${git.uri}${git.ref ? ` at ${git.ref}` : ''}`);
    const srcDir = path.join(dir, 'src');
    ({ commit } = await fetchGitSource({
      uri: git.uri,
      ref: git.ref,
      submodules: git.submodules,
      gitLfs: o.gitLfs,
      dir: srcDir,
      credentials: o.build.credentials.source,
      signal: o.signal,
      onOutput: o.onLine,
    }));
    o.onLine(`Checked out commit ${commit}`);
    contextDir = await insideSource(srcDir, source.contextDir, 'source.contextDir');
  } else {
    contextDir = path.join(dir, 'context');
    await mkdir(contextDir);
  }
  return { contextDir, commit };
}

/** The Dockerfile as the config says (in the source, or inline), with its `from` and `env` edits applied. */
async function prepareDockerfile(o: RunOptions, docker: DockerStrategy, contextDir: string): Promise<string> {
  const inline = o.build.source.dockerfile;
  const edits = { from: docker.from, env: docker.env, target: docker.target };
  const inSource =
    inline === undefined
      ? await insideSource(contextDir, docker.dockerfilePath, 'strategy.docker.dockerfilePath')
      : undefined;
  const original = inline ?? (await readFile(inSource!, 'utf8'));
  let text: string;
  try {
    text = scopeCacheMounts(editDockerfile(original, edits), cacheScope(o.build.ref.namespace));
  } catch (err) {
    if (err instanceof DockerfileEditError) throw new InvalidContextError(`Dockerfile: ${err.message}`);
    throw err;
  }
  if (inline === undefined && text === original) return docker.dockerfilePath;
  await writeFile(path.join(contextDir, GENERATED_DOCKERFILE), text);
  if (edits.from) o.onLine(`Building FROM ${edits.from} (strategy.docker.from)`);
  return GENERATED_DOCKERFILE;
}

/** The prefix of a namespace's cache mount ids: its builds share their caches, and no other's. */
function cacheScope(namespace: string): string {
  return `slipway/${namespace}`;
}

function outputReference(text: string): string {
  const ref = parseImageReference(text);
  if (typeof ref === 'string') throw new InvalidContextError(`output.image: ${ref}`);
  return formatImageReference({ ...ref, tag: ref.tag ?? 'latest' });
}

/** `registry/repository` of an output reference, without its tag: what a platform build pushes to by digest. */
function repositoryOf(image: string): string {
  const ref = parseImageReference(image);
  if (typeof ref === 'string') throw new InvalidContextError(`output.image: ${ref}`);
  return formatImageReference({ domain: ref.domain, path: ref.path });
}

/**
 * `rel` resolved inside `root`, following links, and refused if it leads outside (a
 * repository can hold a symlink to /). @throws InvalidContextError
 */
async function insideSource(root: string, rel: string, field: string): Promise<string> {
  const realRoot = await realpath(root);
  let resolved: string;
  try {
    resolved = await realpath(path.join(realRoot, rel));
    await stat(resolved);
  } catch {
    throw new InvalidContextError(`${field}: "${rel}" does not exist in the source`);
  }
  if (resolved !== realRoot && !resolved.startsWith(realRoot + path.sep)) {
    throw new InvalidContextError(`${field}: "${rel}" leads outside the source`);
  }
  return resolved;
}

/** Hands on each line of `text` that is not blank, without its trailing white space. */
function emitLines(text: string, onLine: (line: string) => void): void {
  // Most text is one line ending in a printable character: nothing to split or trim.
  const last = text.charCodeAt(text.length - 1);
  if (last > 0x20 && last < 0x7f && !text.includes('\n')) return onLine(text);
  for (const line of text.split(/\r?\n/)) if (line.trim()) onLine(line.replace(/\s+$/, ''));
}

/**
 * Removes the build's folder, the containers the daemon ran its steps in, and any container
 * labelled with this attempt. The legacy builder removes step containers itself (forcerm), but
 * only after it has reported a failure, and not at all when the request is aborted; removing
 * them here means none is left when the outcome is reported. Removal is idempotent.
 */
async function cleanUp(
  o: RunOptions,
  labels: Record<string, string>,
  dir: string,
  stepContainers: string[],
): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => {});
  const labelled = await o.runtime
    .listContainers({ [LABELS.build]: labels[LABELS.build]!, [LABELS.attempt]: labels[LABELS.attempt]! })
    .catch(() => []);
  const ids = new Set([...stepContainers, ...labelled.map((c) => c.id)]);
  await Promise.all([...ids].map((id) => o.runtime.removeContainer(id).catch(() => {})));
}
