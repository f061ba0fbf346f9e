import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import { settlesWithin } from '../../common/sleep.js';
import { decodeStatus, PlainProgress } from './buildkit-progress.js';
import { openBuildSession } from './buildkit-session.js';
import { contextTar } from './context-tar.js';
import type {
  BuildEvent,
  BuildImageOptions,
  ContainerRuntime,
  ContainerSummary,
  CreateContainerOptions,
  DiskUsage,
  ImageConfig,
  PushResult,
  RegistryAuth,
  RemoveImageResult,
} from './types.js';
import { ContainerPathNotFoundError, PushError, RegistryRequestError } from './types.js';

/**
 * Consecutive empty progress reports (`{"id":"moby.buildkit.trace","aux":""}`) after which the
 * daemon is taken to report nothing more for the build. dockerd 20.10's BuildKit splits a progress
 * report holding over 1 MiB of step output in pieces and, once the last piece is out, loops on
 * empty ones for good (about 100,000 a second), never reading its later reports: the rest of the
 * output, the step's DONE, later steps and the end of the response never come (seen on dockerd
 * 20.10.24: the Status goroutine loops in SendMsg; the Solve has finished). A report that big forms when the client reads the build's response slower
 * than a step prints (a step printing 200,000 lines at once while the agent is busy). A healthy
 * stream never sends two empty reports in a row.
 */
const LOST_PROGRESS_EMPTY_MESSAGES = 1000;

/**
 * The log's last line when the build ended on the daemon's flood of empty reports. Output the
 * daemon held in later reports is lost with them: the log can end short of the step's last line.
 */
const LOST_PROGRESS_LINE =
  "The daemon stopped reporting the build's progress after a step printed over 1 MiB faster than it was read (a BuildKit bug in Docker 20.10): output after this line may be missing; the image was built";

/**
 * The step BuildKit's Dockerfile frontend reads a build's tar body in as ("[internal] load remote
 * build context"). The frontend solves it alone and holds the result until the build ends
 * before it asks for anything else (moby/buildkit `frontend/dockerfile/builder/build.go`): the
 * first step of another name reported means the context is held (`context-held`).
 */
const CONTEXT_STEP = '[internal] load remote build context';

/**
 * ContainerRuntime over dockerode. `endpoint` is `unix:///path/to/docker.sock` or
 * `tcp://host:port`.
 */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private network: Promise<string> | undefined;

  /** Whether the daemon runs containers in a user namespace, and its remapped root's ids: asked once. */
  private userns: Promise<{ remapped: boolean; rootless: boolean; root?: { uid: number; gid: number } }> | undefined;

  constructor(readonly endpoint: string) {
    this.docker = new Docker(dockerOptions(endpoint));
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  /**
   * Builds on BuildKit (`POST /build?version=2`, the context as the request's tar body), with a
   * session that serves the build's registry credentials and secrets. BuildKit's progress is
   * rendered as `docker build --progress=plain` prints it. Aborting `signal` cancels the build
   * on the daemon (`POST /build/cancel`) and ends the request. `context-held` comes with the
   * first report of a step other than the context's, before that report's lines.
   */
  async *buildImage(o: BuildImageOptions): AsyncIterable<BuildEvent> {
    const session = await openBuildSession(
      this.docker,
      { registries: o.pullAuth ? [o.pullAuth] : [], secrets: o.secrets ?? new Map() },
      o.signal,
    );
    const buildId = randomUUID();
    const cancel = () => void this.cancelBuild(buildId);
    o.signal?.addEventListener('abort', cancel, { once: true });
    try {
      const stream = await this.dial({
        path: '/build?',
        method: 'POST',
        file: await contextTar(o.contextDir, o.dockerfile, await this.contextOwner()),
        headers: { 'Content-Type': 'application/x-tar' },
        options: {
          version: '2',
          session: session.id,
          buildid: buildId,
          t: o.tag,
          dockerfile: o.dockerfile,
          buildargs: JSON.stringify(o.buildArgs),
          labels: JSON.stringify(o.labels),
          nocache: o.noCache || undefined,
          target: o.target,
          pull: o.pull || undefined,
          platform: o.platform,
          networkmode: await this.buildNetwork(),
        },
        abortSignal: o.signal,
        isStream: true,
        statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
      });
      const progress = new PlainProgress();
      const lines = (rendered: string[]): BuildEvent | undefined =>
        rendered.length ? { kind: 'lines', lines: rendered } : undefined;
      let image: string | undefined;
      let empties = 0;
      let contextHeld = false;
      for await (const msg of jsonLines(stream)) {
        if (msg.id === 'moby.buildkit.trace' && msg.aux === '') {
          // See LOST_PROGRESS_EMPTY_MESSAGES: past this many, the daemon reports nothing more. The
          // image is written and tagged once its id has come; ending the request ends the flood.
          if (++empties >= LOST_PROGRESS_EMPTY_MESSAGES && image) {
            yield { kind: 'lines', lines: [...progress.end(), LOST_PROGRESS_LINE] };
            return;
          }
          continue;
        }
        empties = 0;
        if (msg.id === 'moby.buildkit.trace' && typeof msg.aux === 'string') {
          const status = decodeStatus(msg.aux);
          if (!contextHeld && status.vertexes.some((v) => v.name !== CONTEXT_STEP)) {
            contextHeld = true;
            yield { kind: 'context-held' };
          }
          const out = lines(progress.render(status));
          if (out) yield out;
        } else if (typeof msg.stream === 'string') {
          yield { kind: 'output', text: msg.stream };
        }
        if (msg.id === 'moby.image.id' && typeof (msg.aux as { ID?: unknown } | undefined)?.ID === 'string') {
          image = (msg.aux as { ID: string }).ID;
          yield { kind: 'image', id: image };
        }
        const failed = daemonError(msg);
        if (failed) {
          const rest = lines(progress.end());
          if (rest) yield rest;
          yield { kind: 'error', message: failed, step: progress.failed?.name };
          return;
        }
      }
      const rest = lines(progress.end());
      if (rest) yield rest;
    } finally {
      o.signal?.removeEventListener('abort', cancel);
      session.close();
    }
  }

  /**
   * Whom a build's context is given to: on a daemon that remaps its containers' ids
   * (`--userns-remap`, "name=userns" among its security options), the node's ids of its root,
   * which name its data root (`<data-root>/<uid>.<gid>`); its BuildKit copies the context's owners
   * as they are, so files of the node's root would be `nobody`'s in the build (see contextTar).
   * Asked once.
   */
  private async contextOwner(): Promise<{ uid: number; gid: number } | undefined> {
    return (await this.usernsInfo()).root;
  }

  /**
   * Whether the daemon runs its containers, and so a build's RUN steps, in a user namespace:
   * started with `--userns-remap` ("name=userns" among its security options) or rootless
   * ("name=rootless"). Asked once (a failed ask is asked again next time).
   * @throws when the daemon cannot be reached.
   */
  async runsInUserNamespace(): Promise<boolean> {
    const { remapped, rootless } = await this.usernsInfo();
    return remapped || rootless;
  }

  private usernsInfo(): NonNullable<DockerRuntime['userns']> {
    this.userns ??= this.docker.info().then(
      (info: { SecurityOptions?: string[]; DockerRootDir?: string }) => {
        const has = (name: string) => (info.SecurityOptions ?? []).some((o) => o.split(',').includes(`name=${name}`));
        const remapped = has('userns');
        const m = remapped ? /(?:^|\/)(\d+)\.(\d+)$/.exec(info.DockerRootDir ?? '') : null;
        return { remapped, rootless: has('rootless'), root: m ? { uid: Number(m[1]), gid: Number(m[2]) } : undefined };
      },
      (err: unknown) => {
        this.userns = undefined;
        throw err;
      },
    );
    return this.userns;
  }

  /** Asks the daemon to stop a BuildKit build (best effort: the ended request stops it too). */
  private async cancelBuild(buildId: string): Promise<void> {
    await this.dial({
      path: '/build/cancel?',
      method: 'POST',
      options: { id: buildId },
      statusCodes: { 200: true, 404: true, 500: 'server error' },
    }).catch(() => {});
  }

  /**
   * The network a build's RUN steps get: the daemon's default (its bridge) when it has one; on a
   * daemon started without one (`--bridge=none`, as the private daemons and this repository's
   * environment are), BuildKit needs `host`: the network of the daemon's own namespace (in
   * Kubernetes, the agent pod's).
   */
  private buildNetwork(): Promise<string> {
    this.network ??= this.docker
      .listNetworks({ filters: { name: ['bridge'] } })
      .then((list) => (list.some((n) => n.Name === 'bridge') ? 'default' : 'host'))
      .catch((err: unknown) => {
        this.network = undefined;
        throw err;
      });
    return this.network;
  }

  private dial(options: Record<string, unknown>): Promise<NodeJS.ReadableStream> {
    return new Promise((resolve, reject) =>
      this.docker.modem.dial(options as never, (err: unknown, res: unknown) =>
        err ? reject(err) : resolve(res as NodeJS.ReadableStream),
      ),
    );
  }

  async pushImage(
    reference: string,
    options: { signal?: AbortSignal; onOutput?: (text: string) => void; auth?: RegistryAuth },
  ): Promise<PushResult> {
    const { name, tag } = splitTag(reference);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker
        .getImage(name)
        .push({ tag, authconfig: authConfig(options.auth), abortSignal: options.signal } as Docker.ImagePushOptions);
    } catch (err) {
      throw new PushError(err instanceof Error ? err.message : String(err), { cause: err });
    }
    let digest: string | undefined;
    for await (const msg of jsonLines(stream)) {
      const failed = daemonError(msg);
      if (failed) throw new PushError(failed);
      const aux = msg.aux as { Digest?: string } | undefined;
      if (aux?.Digest) digest = aux.Digest;
      reportProgress(msg, options.onOutput);
    }
    if (!digest) throw new PushError(`the daemon did not report a digest for ${reference}`);
    return { digest };
  }

  async removeImage(reference: string): Promise<RemoveImageResult> {
    try {
      await this.docker.getImage(reference).remove({ noprune: false });
      return 'removed';
    } catch (err) {
      if (statusCode(err) === 404) return 'absent';
      if (statusCode(err) === 409) return 'in-use';
      throw err;
    }
  }

  async pullImage(
    reference: string,
    options: { signal?: AbortSignal; onOutput?: (text: string) => void; auth?: RegistryAuth },
  ): Promise<void> {
    const stream = (await this.docker.pull(reference, {
      authconfig: authConfig(options.auth),
      abortSignal: options.signal,
    })) as NodeJS.ReadableStream;
    for await (const msg of jsonLines(stream)) {
      const failed = daemonError(msg);
      if (failed) throw new Error(failed);
      reportProgress(msg, options.onOutput);
    }
  }

  async resolveImageDigest(reference: string, options: { auth?: RegistryAuth }): Promise<string> {
    let answer: { Descriptor?: { digest?: string } };
    try {
      answer = (await this.docker
        .getImage(reference)
        .distribution({ authconfig: authConfig(options.auth) })) as unknown as typeof answer;
    } catch (err) {
      throw new RegistryRequestError(daemonMessage(err), statusCode(err), { cause: err });
    }
    const digest = answer.Descriptor?.digest;
    if (!digest) throw new RegistryRequestError(`the daemon gave no digest for ${reference}`);
    return digest;
  }

  async readArchive(
    id: string,
    path: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<AsyncIterable<Uint8Array>> {
    try {
      return (await this.docker
        .getContainer(id)
        .getArchive({ path, abortSignal: options.signal } as never)) as unknown as AsyncIterable<Uint8Array>;
    } catch (err) {
      if (statusCode(err) === 404) throw new ContainerPathNotFoundError(path, { cause: err });
      throw err;
    }
  }

  async *saveImage(reference: string, options: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
    // What dockerode's getImage(name).get() asks, dialled here so that the signal ends it.
    const stream = await this.dial({
      path: `/images/${reference}/get`,
      method: 'GET',
      abortSignal: options.signal,
      isStream: true,
      statusCodes: { 200: true, 404: 'no such image', 500: 'server error' },
    });
    yield* stream as unknown as AsyncIterable<Uint8Array>;
  }

  async inspectImage(reference: string): Promise<ImageConfig | undefined> {
    try {
      const info = await this.docker.getImage(reference).inspect();
      const c = info.Config;
      return {
        id: info.Id,
        user: c.User ?? '',
        env: c.Env ?? [],
        labels: c.Labels ?? {},
        workingDir: c.WorkingDir ?? '',
      };
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async createContainer(o: CreateContainerOptions): Promise<string> {
    const container = await this.docker.createContainer({
      Image: o.image,
      Cmd: o.cmd,
      Env: o.env,
      User: o.user,
      Labels: o.labels,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        Memory: o.limits?.memoryBytes,
        MemorySwap: o.limits?.memoryBytes,
        CpuPeriod: o.limits?.cpuPeriod,
        CpuQuota: o.limits?.cpuQuota,
        Binds: o.binds,
        NetworkMode: o.network,
        UsernsMode: o.usernsHost ? 'host' : undefined,
      },
    });
    return container.id;
  }

  async putArchive(id: string, dir: string, tar: NodeJS.ReadableStream | Buffer): Promise<void> {
    await this.docker.getContainer(id).putArchive(tar as NodeJS.ReadableStream, { path: dir });
  }

  async runContainer(
    id: string,
    o: { onStdout: (chunk: Buffer) => void; onStderr: (chunk: Buffer) => void; signal?: AbortSignal },
  ): Promise<number> {
    o.signal?.throwIfAborted();
    const container = this.docker.getContainer(id);
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const ended = new Promise<void>((resolve) => {
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
    });
    const out = new PassThrough();
    const err = new PassThrough();
    out.on('data', o.onStdout);
    err.on('data', o.onStderr);
    this.docker.modem.demuxStream(stream, out, err);
    const kill = () => void container.kill().catch(() => {});
    o.signal?.addEventListener('abort', kill, { once: true });
    try {
      o.signal?.throwIfAborted();
      await container.start();
      // An abort while it was starting found nothing running to kill: kill it now.
      if (o.signal?.aborted) kill();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      // Let the last of the output through before returning (bounded: a daemon may keep it open).
      await settlesWithin(ended, 2000);
      return StatusCode;
    } finally {
      o.signal?.removeEventListener('abort', kill);
      // The attach is a socket of its own: one whose container never ran (or whose end the
      // daemon held back) would otherwise stay open and keep the process alive.
      if (stream instanceof Readable) stream.destroy();
    }
  }

  async commitContainer(id: string, reference: string, changes: string[]): Promise<string> {
    const { name, tag } = splitTag(reference);
    const res = (await this.docker.getContainer(id).commit({ repo: name, tag, changes })) as { Id: string };
    return res.Id;
  }

  async listImages(labels: Record<string, string>, options: { dangling?: boolean } = {}): Promise<string[]> {
    const filters: Record<string, string[]> = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    if (options.dangling) filters.dangling = ['true'];
    return (await this.docker.listImages({ filters })).map((i) => i.Id);
  }

  async listContainers(labels: Record<string, string | true>): Promise<ContainerSummary[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: Object.entries(labels).map(([k, v]) => (v === true ? k : `${k}=${v}`)) },
    });
    return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {}, state: c.State, created: c.Created * 1000 }));
  }

  /**
   * `system df`. The daemon runs one at a time and answers a second caller 500 "a disk usage
   * operation is already running" (someone else's `docker system df`, or our GC and a test at
   * once): wait for the running one and ask again.
   */
  private async dfOnce(): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.docker.df();
      } catch (err) {
        if (
          attempt >= 50 ||
          !/disk usage operation is already running/.test(err instanceof Error ? err.message : String(err))
        )
          throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async diskUsage(): Promise<DiskUsage> {
    const df = (await this.dfOnce()) as {
      LayersSize?: number;
      BuildCache?: { Size: number; Shared: boolean }[] | null;
      Containers?: { SizeRw?: number }[] | null;
      Volumes?: { UsageData?: { Size: number } | null }[] | null;
      Images?: {
        Id: string;
        RepoTags?: string[] | null;
        Created: number;
        Size: number;
        SharedSize: number;
        Containers: number;
        Labels?: Record<string, string> | null;
      }[];
    };
    return {
      layersBytes: df.LayersSize ?? 0,
      // A shared record's bytes are an image's layers, counted in LayersSize already.
      buildCacheBytes: (df.BuildCache ?? []).filter((c) => !c.Shared).reduce((sum, c) => sum + c.Size, 0),
      containersBytes: (df.Containers ?? []).reduce((sum, c) => sum + Math.max(0, c.SizeRw ?? 0), 0),
      // -1: a size the daemon does not know (a volume of another driver).
      volumesBytes: (df.Volumes ?? []).reduce((sum, v) => sum + Math.max(0, v.UsageData?.Size ?? 0), 0),
      images: (df.Images ?? []).map((i) => ({
        id: i.Id,
        tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        created: i.Created * 1000,
        size: i.Size,
        sharedSize: Math.max(0, i.SharedSize),
        containers: Math.max(0, i.Containers),
        labels: i.Labels ?? {},
      })),
    };
  }

  async dataRoot(): Promise<string> {
    return ((await this.docker.info()) as { DockerRootDir: string }).DockerRootDir;
  }

  async pruneBuildCache(options: { unusedForMs?: number } = {}): Promise<number> {
    const until = options.unusedForMs ? { until: [`${Math.ceil(options.unusedForMs / 1000)}s`] } : undefined;
    // all: every kind of record, cache mounts included (without it BuildKit keeps some kinds).
    // dockerode's typings know no options for it; the Engine API takes `all` and `filters`.
    const prune = this.docker.pruneBuilder.bind(this.docker) as unknown as (
      options: Record<string, unknown>,
    ) => Promise<{ SpaceReclaimed?: number }>;
    const res = await prune({ all: true, ...(until ? { filters: JSON.stringify(until) } : {}) });
    return res.SpaceReclaimed ?? 0;
  }

  async removeContainer(id: string): Promise<void> {
    const container = this.docker.getContainer(id);
    try {
      await container.remove({ force: true, v: true });
      return;
    } catch (err) {
      if (statusCode(err) === 404) return; // already gone
      if (statusCode(err) !== 409) throw err;
    }
    // 409: the daemon is removing it already (the builder's own forcerm). Done when it is gone.
    for (let waited = 0; waited < 10_000; waited += 100) {
      try {
        await container.inspect();
      } catch (err) {
        if (statusCode(err) === 404) return;
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`container ${id} was still being removed after 10 s`);
  }
}

function dockerOptions(endpoint: string): Docker.DockerOptions {
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length) };
  const u = new URL(endpoint.replace(/^tcp:/, 'http:'));
  return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' };
}

/** Docker's X-Registry-Auth for pushes and pulls. */
function authConfig(auth: RegistryAuth | undefined): Docker.AuthConfig | undefined {
  return auth ? { username: auth.username, password: auth.password, serveraddress: auth.registry } : undefined;
}

/** The error a progress stream message carries, or undefined. */
function daemonError(msg: Record<string, unknown>): string | undefined {
  if (!msg.error && !msg.errorDetail) return undefined;
  return String((msg.errorDetail as { message?: string } | undefined)?.message ?? msg.error);
}

/** A pull or push progress message as a line: "layer: Pushing". */
function reportProgress(msg: Record<string, unknown>, onOutput: ((text: string) => void) | undefined): void {
  if (typeof msg.status === 'string') onOutput?.(`${msg.id ? msg.id + ': ' : ''}${msg.status}\n`);
}

function splitTag(reference: string): { name: string; tag: string } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { name: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { name: reference, tag: 'latest' };
}

/** The daemon's own words in an error answer (docker-modem puts its JSON body in `json`). */
function daemonMessage(err: unknown): string {
  const json = (err as { json?: unknown } | null)?.json;
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string')
    return (json as { message: string }).message;
  if (typeof json === 'string' && json.trim()) return json.trim();
  return err instanceof Error ? err.message : String(err);
}

function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

/** The daemon's progress streams: JSON objects, one a line, split across chunks arbitrarily. */
async function* jsonLines(stream: NodeJS.ReadableStream): AsyncIterable<Record<string, unknown>> {
  let buffered = '';
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield parse(line);
    }
  }
  if (buffered.trim()) yield parse(buffered.trim());
}

function parse(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { stream: line + '\n' };
  }
}
