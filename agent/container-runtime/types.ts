/**
 * What the agent needs from a Docker daemon, in its own terms. The dockerode implementation
 * (docker-runtime.ts) is the only file that knows dockerode's types.
 */

export interface BuildImageOptions {
  /** Folder whose contents are the build context (its .dockerignore is honoured). */
  contextDir: string;
  /** Relative to the context. */
  dockerfile: string;
  /** Reference the result is tagged with. */
  tag: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  noCache: boolean;
  /** Stage to build; undefined: the last. */
  target?: string;
  /** Pull base images even when the daemon has them. */
  pull?: boolean;
  /**
   * The platform (os/arch[/variant], e.g. linux/arm64) to build for: base images are resolved
   * to that platform's variant and the image is made for it. Undefined: the daemon's own.
   */
  platform?: string;
  /** Credentials for pulling base images from a registry that wants them (BuildKit asks when a pull meets a 401). */
  pullAuth?: RegistryAuth;
  /** BuildKit build secrets, by id (`RUN --mount=type=secret,id=…`); never logged. */
  secrets?: ReadonlyMap<string, Buffer>;
  signal?: AbortSignal;
}

/** CPU and memory limits of a container, in Docker's terms. */
export interface ContainerLimits {
  memoryBytes?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
}

/** One thing the daemon said while building: output lines, the image it made, or the final error. */
export type BuildEvent =
  | { kind: 'output'; text: string }
  /** Output already in lines, each as if followed by a newline (BuildKit's rendered progress). */
  | { kind: 'lines'; lines: string[] }
  | { kind: 'image'; id: string }
  /**
   * BuildKit holds the build's uploaded context until the build ends: a build-cache prune can no
   * longer take it (see gc/build-cache-guard.ts). At most once, before the output of any step of
   * the Dockerfile; never when the build ended before.
   */
  | { kind: 'context-held' }
  | {
      kind: 'error';
      message: string;
      /** The step that failed, as BuildKit names it ("[2/3] RUN make"); undefined: none did. */
      step?: string;
    };

export interface PushResult {
  digest: string;
}

export interface ContainerSummary {
  id: string;
  labels: Record<string, string>;
  state: string;
  /** When it was created, in ms since the epoch. */
  created: number;
}

/** One image as the daemon's disk-usage report shows it. */
export interface ImageRecord {
  id: string;
  /** repo:tag names; empty for a dangling image. */
  tags: string[];
  /** When it was created, in ms since the epoch. */
  created: number;
  /** Bytes of all its layers, and of those it shares with other images. */
  size: number;
  sharedSize: number;
  /** Containers (running or not) made from it. */
  containers: number;
  labels: Record<string, string>;
}

/** What the daemon stores: every image, and the bytes all their layers take. */
export interface DiskUsage {
  layersBytes: number;
  /** Bytes BuildKit's cache takes beyond the images' layers (build steps' snapshots, cache mounts). */
  buildCacheBytes: number;
  /** Bytes of containers' writable layers (running or stopped). */
  containersBytes: number;
  /** Bytes of volumes (those whose size the daemon knows: local ones). */
  volumesBytes: number;
  images: ImageRecord[];
}

/** Whether removing an image removed it, found it gone, or was refused (in use, has children). */
export type RemoveImageResult = 'removed' | 'absent' | 'in-use';

/** What a build needs to know of an image's configuration. */
export interface ImageConfig {
  /** The image id (sha256:...). */
  id: string;
  user: string;
  env: string[];
  labels: Record<string, string>;
  workingDir: string;
}

export interface CreateContainerOptions {
  image: string;
  /** Undefined: the image's own entrypoint and command. */
  cmd?: string[];
  env?: string[];
  user?: string;
  labels: Record<string, string>;
  limits?: ContainerLimits;
  /** host-path:container-path[:ro] bind mounts (paths on the daemon's machine); undefined: none. */
  binds?: string[];
  /** `host`: the daemon's own network namespace; undefined: the daemon's default network. */
  network?: 'host';
  /**
   * Run outside the daemon's user namespace (`--userns=host`), as its root: needed to share its
   * network namespace when it remaps users. Undefined: the daemon's setting.
   */
  usernsHost?: boolean;
}

export interface ContainerRuntime {
  /** A readable name of the daemon (its socket or URL), for logs. */
  readonly endpoint: string;
  ping(): Promise<void>;
  /** Streams the daemon's build output; the last event is an `image` or an `error`. */
  buildImage(options: BuildImageOptions): AsyncIterable<BuildEvent>;
  /**
   * Pushes `reference` (registry/repo:tag) and returns the manifest digest the registry stored.
   * `onOutput` gets progress lines.
   * @throws PushError with the registry's message.
   */
  pushImage(
    reference: string,
    options: { signal?: AbortSignal; onOutput?: (text: string) => void; auth?: RegistryAuth },
  ): Promise<PushResult>;
  /**
   * Removes an image by reference or id (by a reference: the tag, and the image when no other
   * tag is left), with its untagged parents. Never forces: an image a container uses stays.
   */
  removeImage(reference: string): Promise<RemoveImageResult>;
  /** Pulls an image; `onOutput` gets progress lines. @throws Error with the daemon's message. */
  pullImage(
    reference: string,
    options: { signal?: AbortSignal; onOutput?: (text: string) => void; auth?: RegistryAuth },
  ): Promise<void>;
  /**
   * The manifest digest (sha256:…) the registry gives `reference`'s tag now, asked through the
   * daemon (`GET /distribution/…/json`: its registry settings and mirrors apply), with `auth`
   * for that registry. Nothing is pulled or tagged.
   * @throws RegistryRequestError with the daemon's message.
   */
  resolveImageDigest(reference: string, options: { auth?: RegistryAuth }): Promise<string>;
  /**
   * A tar archive of `path` in the (created, not necessarily started) container, as
   * `docker cp` reads it: a file as its name, a folder as its name and contents, a path ending
   * in `/.` as the folder's contents.
   * @throws ContainerPathNotFoundError when the container has nothing at `path`.
   */
  readArchive(id: string, path: string, options?: { signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>>;
  /**
   * The image as `docker save` writes it (`GET /images/{name}/get`): a tar of manifest.json
   * (`[{Config, RepoTags, Layers}]`, paths inside the tar), the config and each layer as an
   * uncompressed tar, in whatever layout the daemon's version uses. Aborting `signal` ends it.
   * @throws Error with the daemon's message (no such image).
   */
  saveImage(reference: string, options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array>;
  /** The image's configuration, or undefined when the daemon does not have it. */
  inspectImage(reference: string): Promise<ImageConfig | undefined>;
  /** Creates (does not start) a container; returns its id. */
  createContainer(options: CreateContainerOptions): Promise<string>;
  /** Unpacks a tar archive into the container's filesystem at `dir`. */
  putArchive(id: string, dir: string, tar: NodeJS.ReadableStream | Buffer): Promise<void>;
  /**
   * Starts the container and waits for it to exit; its output goes to `onStdout`/`onStderr`
   * as it comes. Aborting `signal` kills it. Returns the exit code.
   */
  runContainer(
    id: string,
    o: { onStdout: (chunk: Buffer) => void; onStderr: (chunk: Buffer) => void; signal?: AbortSignal },
  ): Promise<number>;
  /** Commits a container as `reference`, with Dockerfile-style `changes` (CMD, ENV, LABEL ...). */
  commitContainer(id: string, reference: string, changes: string[]): Promise<string>;
  /** Ids of images carrying every given label; with `dangling`, only untagged ones. */
  listImages(labels: Record<string, string>, options?: { dangling?: boolean }): Promise<string[]>;
  /** Containers (running or not) carrying every given label; `true` matches any value. */
  listContainers(labels: Record<string, string | true>): Promise<ContainerSummary[]>;
  /** Every image and the bytes their layers take (the daemon's `system df`). */
  diskUsage(): Promise<DiskUsage>;
  /** The folder the daemon stores images in (its data root). */
  dataRoot(): Promise<string>;
  /**
   * Removes BuildKit's cache (layer snapshots and `RUN --mount=type=cache` folders) that no
   * running build uses; with `unusedForMs`, only what has not been used for that long. Returns
   * the bytes it freed.
   */
  pruneBuildCache(options?: { unusedForMs?: number }): Promise<number>;
  /** Force-removes a container; one already gone counts as removed. */
  removeContainer(id: string): Promise<void>;
}

export interface RegistryAuth {
  registry: string;
  username: string;
  password: string;
}

/** The daemon could not ask the registry about an image; `message` is the daemon's, `statusCode` its HTTP answer. */
export class RegistryRequestError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryRequestError';
  }
}

/** A container has nothing at the path asked for. */
export class ContainerPathNotFoundError extends Error {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`nothing at ${path}`, options);
    this.name = 'ContainerPathNotFoundError';
  }
}

export class PushError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PushError';
  }
}
