import * as grpc from '@grpc/grpc-js';
import { slipwayProto } from '../common/grpc/proto.js';
import type { BuildServiceClient } from '../proto/generated/slipway/v1/BuildService.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import type { BuildConfig, BuildConfig__Output } from '../proto/generated/slipway/v1/BuildConfig.js';
import type { StartBuildRequest } from '../proto/generated/slipway/v1/StartBuildRequest.js';
import type { StartBuildUpload } from '../proto/generated/slipway/v1/StartBuildUpload.js';
import type { StreamBuildLogsRequest } from '../proto/generated/slipway/v1/StreamBuildLogsRequest.js';
import type { LogLine__Output } from '../proto/generated/slipway/v1/LogLine.js';
import type { Secret, Secret__Output } from '../proto/generated/slipway/v1/Secret.js';
import type { ListBuildsRequest } from '../proto/generated/slipway/v1/ListBuildsRequest.js';
import type { ListBuildsResponse__Output } from '../proto/generated/slipway/v1/ListBuildsResponse.js';
import type { ListBuildConfigsRequest } from '../proto/generated/slipway/v1/ListBuildConfigsRequest.js';
import type { ListBuildConfigsResponse__Output } from '../proto/generated/slipway/v1/ListBuildConfigsResponse.js';

type Unary<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => unknown;

/** The items of each page `fetch` answers, following next-page tokens until one is empty. */
async function* paged<T>(
  fetch: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): AsyncIterable<T> {
  let token = '';
  do {
    const page = await fetch(token);
    yield* page.items;
    token = page.nextPageToken;
  } while (token);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const i of items) all.push(i);
  return all;
}

/** How the client reaches a coordinator that wants TLS and tokens. */
export interface ClientSecurity {
  /** The CA (PEM) the coordinator's certificate is checked against; undefined: plaintext. */
  ca?: Buffer;
  /** Sent as `authorization: Bearer TOKEN` on every call. */
  token?: string;
}

/** BuildService with promises and async iterables, for the CLI, tests and benchmarks. */
export class SlipwayClient {
  private readonly client: BuildServiceClient;
  private readonly token?: string;

  constructor(
    address: string,
    private readonly timeoutMs = 30_000,
    /** gRPC channel options, e.g. a larger `grpc.max_receive_message_length` for very long lists. */
    channelOptions: grpc.ChannelOptions = {},
    security: ClientSecurity = {},
  ) {
    const credentials = security.ca ? grpc.credentials.createSsl(security.ca) : grpc.credentials.createInsecure();
    this.client = new (slipwayProto().slipway.v1.BuildService)(address, credentials, channelOptions);
    this.token = security.token;
  }

  /** Every call's metadata: the bearer token, when there is one (also over plaintext: local use). */
  private metadata(): grpc.Metadata {
    const m = new grpc.Metadata();
    if (this.token) m.set('authorization', `Bearer ${this.token}`);
    return m;
  }

  private call<Req, Res>(fn: Unary<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) =>
      fn.call(this.client, req, this.metadata(), { deadline: new Date(Date.now() + this.timeoutMs) }, (err, res) =>
        err ? reject(err) : resolve(res!),
      ),
    );
  }

  createBuildConfig(config: BuildConfig): Promise<BuildConfig__Output> {
    return this.call(this.client.CreateBuildConfig, { config });
  }
  updateBuildConfig(config: BuildConfig): Promise<BuildConfig__Output> {
    return this.call(this.client.UpdateBuildConfig, { config });
  }
  getBuildConfig(namespace: string, name: string): Promise<BuildConfig__Output> {
    return this.call(this.client.GetBuildConfig, { namespace, name });
  }
  /** One page of a namespace's BuildConfigs (ListBuildConfigs as it is). */
  listBuildConfigsPage(req: ListBuildConfigsRequest): Promise<ListBuildConfigsResponse__Output> {
    return this.call<ListBuildConfigsRequest, ListBuildConfigsResponse__Output>(this.client.ListBuildConfigs, req);
  }
  /** Every BuildConfig of a namespace, a page (a call) at a time as they are consumed. */
  buildConfigs(namespace: string, pageSize = 0): AsyncIterable<BuildConfig__Output> {
    return paged((pageToken) => this.listBuildConfigsPage({ namespace, pageSize, pageToken }));
  }
  /** Every BuildConfig of a namespace, all pages read. */
  async listBuildConfigs(namespace: string, pageSize = 0): Promise<BuildConfig__Output[]> {
    return collect(this.buildConfigs(namespace, pageSize));
  }
  async deleteBuildConfig(namespace: string, name: string): Promise<void> {
    await this.call(this.client.DeleteBuildConfig, { namespace, name });
  }
  startBuild(req: StartBuildRequest): Promise<Build__Output> {
    return this.call(this.client.StartBuild, req);
  }
  getBuild(namespace: string, name: string): Promise<Build__Output> {
    return this.call(this.client.GetBuild, { namespace, name });
  }
  /** One page of builds (ListBuilds as it is): pass its nextPageToken as the next request's pageToken. */
  listBuildsPage(req: ListBuildsRequest): Promise<ListBuildsResponse__Output> {
    return this.call<ListBuildsRequest, ListBuildsResponse__Output>(this.client.ListBuilds, req);
  }
  /**
   * Every build the request selects, in the server's key order, a page (a call of `req.pageSize`,
   * 0 for the server's default) at a time as they are consumed. A build created meanwhile may be
   * listed or not; none is listed twice.
   */
  builds(req: Omit<ListBuildsRequest, 'pageToken'>): AsyncIterable<Build__Output> {
    return paged((pageToken) => this.listBuildsPage({ ...req, pageToken }));
  }
  /** Every build the request selects, all pages read (see builds()). */
  async listBuilds(req: Omit<ListBuildsRequest, 'pageToken'>): Promise<Build__Output[]> {
    return collect(this.builds(req));
  }

  /**
   * The build now and after each change, ending after a terminal phase. A watch the server
   * could not keep (UNAVAILABLE: coordinator or NATS restarting) is started again, skipping
   * states already seen, until `signal` aborts.
   */
  async *watchBuild(namespace: string, name: string, signal?: AbortSignal): AsyncIterable<Build__Output> {
    let seen = 0;
    for (;;) {
      const call = this.client.WatchBuild({ namespace, name }, this.metadata());
      const cancel = () => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        for await (const build of call as AsyncIterable<Build__Output>) {
          const revision = Number(build.metadata!.resourceVersion);
          if (revision <= seen) continue;
          seen = revision;
          yield build;
        }
        return;
      } catch (err) {
        if (signal?.aborted || (err as grpc.ServiceError).code !== grpc.status.UNAVAILABLE) throw err;
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        signal?.removeEventListener('abort', cancel);
        call.cancel();
      }
    }
  }

  /**
   * Starts a build with an uploaded context: `start` first, then the archive's bytes as they
   * come, with backpressure. `onProgress` gets the bytes sent so far.
   */
  async startBuildWithContext(
    start: StartBuildRequest,
    archive: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    onProgress?: (sent: number) => void,
  ): Promise<Build__Output> {
    let call!: grpc.ClientWritableStream<StartBuildUpload>;
    const answer = new Promise<Build__Output>((resolve, reject) => {
      call = this.client.StartBuildWithContext(this.metadata(), (err, res) => (err ? reject(err) : resolve(res!)));
    });
    const write = (m: StartBuildUpload) => (call.write(m) ? undefined : new Promise((r) => call.once('drain', r)));
    let sent = 0;
    try {
      await write({ start });
      for await (const chunk of archive) {
        for (let i = 0; i < chunk.length; i += 64 * 1024) await write({ chunk: chunk.subarray(i, i + 64 * 1024) });
        sent += chunk.length;
        onProgress?.(sent);
      }
      call.end();
    } catch (err) {
      call.cancel();
      await answer.catch(() => {});
      throw err;
    }
    return answer;
  }

  cancelBuild(namespace: string, name: string): Promise<Build__Output> {
    return this.call(this.client.CancelBuild, { namespace, name });
  }

  createSecret(secret: Secret): Promise<Secret__Output> {
    return this.call(this.client.CreateSecret, { secret });
  }

  /**
   * One attempt's log lines (attempt 0: the current one); with follow, until the log ends.
   * Yields one line at a time (`nextTexts` empty), whole, in order, each once. Unless the
   * request says `batched: false`, the server sends several lines a message (a server from
   * before batches sends one a message; both read alike).
   */
  async *streamBuildLogs(req: StreamBuildLogsRequest, signal?: AbortSignal): AsyncIterable<LogLine__Output> {
    const call = this.client.StreamBuildLogs({ batched: true, ...req }, this.metadata());
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const m of call as AsyncIterable<LogLine__Output>) {
        if (m.nextTexts.length === 0) {
          yield m;
          continue;
        }
        yield { attempt: m.attempt, line: m.line, text: m.text, nextTexts: [] };
        for (let i = 0; i < m.nextTexts.length; i++)
          yield { attempt: m.attempt, line: m.line + i + 1, text: m.nextTexts[i]!, nextTexts: [] };
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }

  /** Waits for the build to end and returns its final state. */
  async waitForBuild(namespace: string, name: string, signal?: AbortSignal): Promise<Build__Output> {
    let last: Build__Output | undefined;
    for await (const b of this.watchBuild(namespace, name, signal)) last = b;
    if (!last) throw new Error(`watch of ${namespace}/${name} ended without a state`);
    return last;
  }

  close(): void {
    this.client.close();
  }
}
