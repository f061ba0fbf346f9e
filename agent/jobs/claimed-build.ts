import type { BuildSecretValue__Output } from '../../proto/generated/slipway/v1/BuildSecretValue.js';
import type { BuildStrategy__Output } from '../../proto/generated/slipway/v1/BuildStrategy.js';
import type { ClaimBuildResponse__Output } from '../../proto/generated/slipway/v1/ClaimBuildResponse.js';
import type { ImageSource__Output } from '../../proto/generated/slipway/v1/ImageSource.js';
import type { NameValue__Output } from '../../proto/generated/slipway/v1/NameValue.js';
import type { NamedCredentials__Output } from '../../proto/generated/slipway/v1/NamedCredentials.js';
import type { RegistryCredentials__Output } from '../../proto/generated/slipway/v1/RegistryCredentials.js';
import { MalformedBuildError } from '../build-failures.js';
import { parsePlatform } from '../../api/platforms.js';

/** Which attempt of which build: how the agent names one in reports, heartbeats, logs and labels. */
export interface AttemptRef {
  namespace: string;
  name: string;
  attempt: number;
}

/** `namespace/name/attempt`: the key of an attempt among those an agent runs or ran. */
export function attemptKey(ref: AttemptRef): string {
  return `${ref.namespace}/${ref.name}/${ref.attempt}`;
}

/** A build argument or an environment variable. */
export interface NameValue {
  name: string;
  value: string;
}

/**
 * A secret's contents, as the coordinator revealed them at the claim. Never logged, never
 * stored: whatever leaves the agent about the build is masked with them. Fits both RegistryAuth
 * and GitCredentials.
 */
export interface Credentials {
  /** The registry a docker-registry secret is for; empty for a source secret. */
  registry: string;
  username: string;
  password: string;
  /** A key for an ssh git remote; undefined: none (basic auth). */
  sshPrivateKey?: string;
  /** known_hosts for that remote; undefined: the host key is accepted as first seen. */
  knownHosts?: string;
}

/** Where the build's context comes from. An upload wins over git; with neither, the context is empty. */
export interface ClaimedSource {
  /** The context uploaded for this build (it replaces the git source); undefined: none. */
  upload?: { object: string; sha256: string; size: number };
  /** The repository the context comes from; undefined: none (an inline Dockerfile, or an upload). */
  git?: {
    uri: string;
    /** Branch, tag or full commit id; undefined: the remote's default branch. */
    ref?: string;
    /** Whether its submodules are checked out too. */
    submodules: boolean;
  };
  /** Folder inside the git source that is the context; "." when the config names none. */
  contextDir: string;
  /** An inline Dockerfile, used instead of one in the source; undefined: none. */
  dockerfile?: string;
  /** Name of the source secret the config names; undefined: none. */
  sourceSecret?: string;
  /** Paths copied out of images into the context, after the git source or upload; empty: none. */
  images: ClaimedImageSource[];
}

/** An image whose paths go into the build's context (source.images). */
export interface ClaimedImageSource {
  /** As the config names it: a tag or a digest. */
  from: string;
  /** Name of its pull secret; undefined: none. */
  pullSecret?: string;
  /** `sourcePath` absolute in the image; `destinationDir` relative to the context, "" for its root. */
  paths: { sourcePath: string; destinationDir: string }[];
}

/** Build with a Dockerfile. */
export interface DockerStrategy {
  kind: 'docker';
  /** The Dockerfile's path in the context; "Dockerfile" when the config names none. */
  dockerfilePath: string;
  buildArgs: NameValue[];
  noCache: boolean;
  /** ENV added after the last stage's FROM; empty: none. */
  env: NameValue[];
  /** The stage to build; undefined: the last. */
  target?: string;
  /** Pull base images even when the daemon has them. */
  forcePull: boolean;
  /** Replaces the image of the Dockerfile's last FROM; undefined: the Dockerfile's own. */
  from?: string;
  /** Name of the pull secret for the base images; undefined: none. */
  pullSecret?: string;
  /** Build secrets: the id RUN --mount=type=secret reads, and the opaque secret it names; empty: none. */
  secrets: { id: string; secretName: string }[];
}

/**
 * A build secret as the claim handed it over: the value of the opaque secret, or the type of
 * the secret it names when that is not opaque (no value is handed over then).
 */
export type BuildSecretValue = { value: Buffer } | { wrongType: string };

/** Build with Source-to-Image: a builder image's assemble script. */
export interface SourceToImageStrategy {
  kind: 'source';
  builderImage: string;
  /** Where the s2i scripts are; undefined: the builder's io.openshift.s2i.scripts-url label. */
  scriptsUrl?: string;
  /** Environment of assemble (and of the output image). */
  env: NameValue[];
  /** Reuse the previous output image's artifacts. */
  incremental: boolean;
  forcePull: boolean;
  /** Name of the pull secret for the builder image; undefined: none. */
  pullSecret?: string;
}

/** Build with a builder image of the user's own, which pushes the output image itself. */
export interface CustomBuilderStrategy {
  kind: 'custom';
  image: string;
  /** More environment of the builder (no SLIPWAY_* names: validation refuses them). */
  env: NameValue[];
  /** Give the builder the build's private daemon; refused where the daemon is not the build's own. */
  exposeDockerSocket: boolean;
  forcePull: boolean;
  /** Name of the pull secret for the builder image; undefined: none. */
  pullSecret?: string;
  /** Secrets the builder reads as files: the id (file name) and the opaque secret it names; empty: none. */
  secrets: { id: string; secretName: string }[];
}

/**
 * A build as the agent runs it: read once, at the claim, from what the coordinator handed over
 * (the build, frozen config included, and the credentials of the secrets it names). Nothing
 * further in reads the generated message.
 */
export interface ClaimedBuild {
  ref: AttemptRef;
  /** The BuildConfig the build was started from. */
  configName: string;
  /** When the coordinator marked the attempt Running (ms since the epoch); undefined: it did not say. */
  startedAtMs?: number;
  /**
   * A platform build (one platform of a build of several, spec.platform): the os/arch[/variant]
   * it builds natively, pushed by digest only, never to the output tag. Always a docker strategy.
   * Undefined: an ordinary build, for the node's own platform, pushed to its tag.
   */
  platform?: string;
  /** The attempt is stopped this many seconds after it started; undefined: no deadline. */
  completionDeadlineSeconds?: number;
  source: ClaimedSource;
  strategy: DockerStrategy | SourceToImageStrategy | CustomBuilderStrategy;
  output: {
    /** registry/repository[:tag], as the config gives it (checked when the build runs). */
    image: string;
    /** Name of the push secret; undefined: none. */
    pushSecret?: string;
  };
  /** Kubernetes quantities; undefined: no limit. */
  resources: { cpu?: string; memory?: string };
  /**
   * Why the build must run in a user namespace (the claim's answer: its config's or its
   * namespace's policy); undefined: it need not.
   */
  unprivilegedRequired?: string;
  /**
   * The digests an earlier attempt resolved the source images to (status.sourceImages), in
   * their order; undefined when none did: this attempt resolves and records them.
   */
  sourceImageDigests?: { from: string; digest: string }[];
  /** The secrets the build names that exist; a named one missing here fails the build. */
  credentials: {
    push?: Credentials;
    source?: Credentials;
    pull?: Credentials;
    /** Build secrets by id (strategy.docker.secrets); an id missing here names a secret that does not exist. */
    build: Map<string, BuildSecretValue>;
    /** Source images' pull secrets by name; a name missing here names a secret that does not exist. */
    sourceImages: Map<string, Credentials>;
  };
}

/**
 * The claim's answer as a ClaimedBuild. The message's defaults (proto3 cannot leave a field
 * unset: absent messages are null, strings empty, numbers 0) become undefined or the default
 * each field above names.
 * @throws MalformedBuildError when a part the agent needs is missing, the strategy is not
 *   exactly one of docker, source and custom, the build is not the `claimed` attempt, or it
 *   names a platform (spec.platform) that is not os/arch[/variant] or with a strategy other
 *   than docker.
 */
export function claimedBuildFrom(res: ClaimBuildResponse__Output, claimed: AttemptRef): ClaimedBuild {
  const build = res.build;
  if (!build) throw new MalformedBuildError('build', 'is missing');
  const { metadata, spec, status } = build;
  if (!metadata) throw new MalformedBuildError('build.metadata', 'is missing');
  if (!status) throw new MalformedBuildError('build.status', 'is missing');
  const config = spec?.config;
  if (!spec || !config) throw new MalformedBuildError('build.spec.config', 'is missing');
  const { source, strategy, output, resources } = config;
  if (!output) throw new MalformedBuildError('build.spec.config.output', 'is missing');
  const ref = { namespace: metadata.namespace, name: metadata.name, attempt: status.attempt };
  if (attemptKey(ref) !== attemptKey(claimed))
    throw new MalformedBuildError('build', `is ${attemptKey(ref)}, not the claimed ${attemptKey(claimed)}`);
  const startedAtMs = status.startTimestamp ? Date.parse(status.startTimestamp) : undefined;
  if (Number.isNaN(startedAtMs))
    throw new MalformedBuildError('build.status.startTimestamp', `"${status.startTimestamp}" is not a time`);
  const claimedStrategy = strategyFrom(strategy);
  const platform = spec.platform || undefined;
  if (platform !== undefined) {
    const parsed = parsePlatform(platform);
    if (typeof parsed === 'string') throw new MalformedBuildError('build.spec.platform', parsed);
    if (claimedStrategy.kind !== 'docker')
      throw new MalformedBuildError(
        'build.spec.platform',
        `is "${platform}" for a ${claimedStrategy.kind} strategy: only a docker strategy builds for a platform`,
      );
  }
  return {
    ref,
    configName: spec.configName,
    startedAtMs,
    platform,
    completionDeadlineSeconds: config.completionDeadlineSeconds || undefined,
    source: {
      upload: source?.binary?.object
        ? { object: source.binary.object, sha256: source.binary.sha256, size: source.binary.size }
        : undefined,
      git: source?.git?.uri
        ? { uri: source.git.uri, ref: source.git.ref || undefined, submodules: source.git.submodules !== false }
        : undefined,
      contextDir: source?.contextDir || '.',
      dockerfile: source?.dockerfile || undefined,
      sourceSecret: source?.sourceSecret?.name || undefined,
      images: (source?.images ?? []).map(imageSource),
    },
    strategy: claimedStrategy,
    output: { image: output.image, pushSecret: output.pushSecret?.name || undefined },
    resources: { cpu: resources?.cpu || undefined, memory: resources?.memory || undefined },
    // A coordinator too old to say still hands over the config's own field.
    unprivilegedRequired:
      res.unprivilegedRequired ||
      (config.security?.unprivileged
        ? `config ${metadata.namespace}/${spec.configName} requires unprivileged builds (spec.security.unprivileged)`
        : undefined),
    sourceImageDigests:
      status.sourceImages.length > 0 ? status.sourceImages.map(({ from, digest }) => ({ from, digest })) : undefined,
    credentials: {
      push: credentials(res.pushCredentials),
      source: credentials(res.sourceCredentials),
      pull: credentials(res.pullCredentials),
      build: buildSecrets(res.buildSecrets),
      sourceImages: namedCredentials(res.sourceImageCredentials),
    },
  };
}

function imageSource(i: ImageSource__Output): ClaimedImageSource {
  return {
    from: i.from,
    pullSecret: i.pullSecret?.name || undefined,
    paths: i.paths.map((p) => ({ sourcePath: p.sourcePath, destinationDir: p.destinationDir })),
  };
}

function namedCredentials(list: NamedCredentials__Output[]): Map<string, Credentials> {
  const out = new Map<string, Credentials>();
  for (const { name, credentials: c } of list) {
    const found = credentials(c);
    if (found) out.set(name, found);
  }
  return out;
}

function strategyFrom(
  strategy: BuildStrategy__Output | null,
): DockerStrategy | SourceToImageStrategy | CustomBuilderStrategy {
  const docker = strategy?.docker;
  const s2i = strategy?.source;
  const custom = strategy?.custom;
  if (custom && !docker && !s2i) {
    return {
      kind: 'custom',
      image: custom.image,
      env: nameValues(custom.env),
      exposeDockerSocket: custom.exposeDockerSocket,
      forcePull: custom.forcePull,
      pullSecret: custom.pullSecret?.name || undefined,
      secrets: custom.secrets.map((s) => ({ id: s.id, secretName: s.secret?.name ?? '' })),
    };
  }
  if (s2i && !docker && !custom) {
    return {
      kind: 'source',
      builderImage: s2i.builderImage,
      scriptsUrl: s2i.scriptsUrl || undefined,
      env: nameValues(s2i.env),
      incremental: s2i.incremental,
      forcePull: s2i.forcePull,
      pullSecret: s2i.pullSecret?.name || undefined,
    };
  }
  if (docker && !s2i && !custom) {
    return {
      kind: 'docker',
      dockerfilePath: docker.dockerfilePath || 'Dockerfile',
      buildArgs: nameValues(docker.buildArgs),
      noCache: docker.noCache,
      env: nameValues(docker.env),
      target: docker.target || undefined,
      forcePull: docker.forcePull,
      from: docker.from || undefined,
      pullSecret: docker.pullSecret?.name || undefined,
      secrets: docker.secrets.map((s) => ({ id: s.id, secretName: s.secret?.name ?? '' })),
    };
  }
  throw new MalformedBuildError('build.spec.config.strategy', 'needs exactly one of docker, source or custom');
}

function nameValues(list: NameValue__Output[]): NameValue[] {
  return list.map(({ name, value }) => ({ name, value }));
}

function credentials(c: RegistryCredentials__Output | null): Credentials | undefined {
  if (!c) return undefined;
  return {
    registry: c.registry,
    username: c.username,
    password: c.password,
    sshPrivateKey: c.sshPrivateKey || undefined,
    knownHosts: c.knownHosts || undefined,
  };
}

function buildSecrets(list: BuildSecretValue__Output[]): Map<string, BuildSecretValue> {
  return new Map(list.map((s) => [s.id, s.wrongType ? { wrongType: s.wrongType } : { value: Buffer.from(s.value) }]));
}
