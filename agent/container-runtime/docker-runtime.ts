import { readdir } from 'node:fs/promises';
import Docker from 'dockerode';
import type { BuildEvent, BuildImageOptions, ContainerRuntime, ContainerSummary, PushResult, RegistryAuth } from './types.js';
import { PushError } from './types.js';

/**
 * ContainerRuntime over dockerode. `endpoint` is `unix:///path/to/docker.sock` or
 * `tcp://host:port`.
 */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;

  constructor(readonly endpoint: string) {
    this.docker = new Docker(dockerOptions(endpoint));
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async *buildImage(o: BuildImageOptions): AsyncIterable<BuildEvent> {
    // The whole context folder, less .git: the daemon never needs the repository's history.
    const entries = (await readdir(o.contextDir)).filter((e) => e !== '.git');
    const stream = await this.docker.buildImage(
      { context: o.contextDir, src: entries },
      {
        t: o.tag,
        dockerfile: o.dockerfile,
        buildargs: o.buildArgs,
        labels: o.labels,
        nocache: o.noCache,
        target: o.target,
        pull: o.pull || undefined,
        // Remove intermediate containers whether the build succeeds or fails.
        rm: true,
        forcerm: true,
        memory: o.limits.memoryBytes,
        // No swap beyond the memory limit, so the limit is a limit.
        memswap: o.limits.memoryBytes,
        cpuperiod: o.limits.cpuPeriod,
        cpuquota: o.limits.cpuQuota,
        abortSignal: o.signal,
      } satisfies Docker.ImageBuildOptions & { abortSignal?: AbortSignal },
    );
    for await (const msg of jsonLines(stream)) {
      if (typeof msg.stream === 'string') {
        yield { kind: 'output', text: msg.stream };
        // The legacy builder names each step's container: " ---> Running in 0471a4100190".
        const step = /---> Running in ([0-9a-f]{12,64})/.exec(msg.stream);
        if (step) yield { kind: 'container', id: step[1]! };
      }
      else if (typeof msg.status === 'string') yield { kind: 'output', text: `${msg.status}${msg.id ? ` ${msg.id}` : ''}\n` };
      if (msg.aux && typeof (msg.aux as { ID?: unknown }).ID === 'string') yield { kind: 'image', id: (msg.aux as { ID: string }).ID };
      if (msg.error || msg.errorDetail) {
        const detail = (msg.errorDetail ?? {}) as { code?: number; message?: string };
        yield { kind: 'error', message: String(detail.message ?? msg.error), code: detail.code };
        return;
      }
    }
  }

  async pushImage(reference: string, options: { signal?: AbortSignal; onOutput?: (text: string) => void; auth?: RegistryAuth }): Promise<PushResult> {
    const { name, tag } = splitTag(reference);
    const authconfig = options.auth
      ? { username: options.auth.username, password: options.auth.password, serveraddress: options.auth.registry }
      : undefined;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.getImage(name).push({ tag, authconfig, abortSignal: options.signal } as Docker.ImagePushOptions);
    } catch (err) {
      throw new PushError(err instanceof Error ? err.message : String(err), { cause: err });
    }
    let digest: string | undefined;
    for await (const msg of jsonLines(stream)) {
      if (msg.error || msg.errorDetail) {
        const detail = (msg.errorDetail ?? {}) as { message?: string };
        throw new PushError(String(detail.message ?? msg.error));
      }
      const aux = msg.aux as { Digest?: string } | undefined;
      if (aux?.Digest) digest = aux.Digest;
      if (typeof msg.status === 'string') options.onOutput?.(`${msg.id ? msg.id + ': ' : ''}${msg.status}\n`);
    }
    if (!digest) throw new PushError(`the daemon did not report a digest for ${reference}`);
    return { digest };
  }

  async removeImage(reference: string): Promise<void> {
    try {
      await this.docker.getImage(reference).remove({ noprune: false });
    } catch (err) {
      if (statusCode(err) !== 404 && statusCode(err) !== 409) throw err;
    }
  }

  async listImages(labels: Record<string, string>, options: { dangling?: boolean } = {}): Promise<string[]> {
    const filters: Record<string, string[]> = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    if (options.dangling) filters.dangling = ['true'];
    return (await this.docker.listImages({ filters })).map((i) => i.Id);
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) },
    });
    return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {}, state: c.State }));
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

function splitTag(reference: string): { name: string; tag: string } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { name: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { name: reference, tag: 'latest' };
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
