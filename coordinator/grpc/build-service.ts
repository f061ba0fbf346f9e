import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../../common/errors.js';
import { slipwayProto } from '../../common/grpc/proto.js';
import { toGrpcStatus } from '../../common/grpc/status.js';
import type { Logger } from '../../common/log.js';
import type { BuildServiceHandlers } from '../../proto/generated/slipway/v1/BuildService.js';
import type { Build as PBuild } from '../../proto/generated/slipway/v1/Build.js';
import type { WatchBuildRequest__Output } from '../../proto/generated/slipway/v1/WatchBuildRequest.js';
import { DEFAULT_NAMESPACE, type BuildPhase } from '../api/types.js';
import type { BuildApi } from '../builds/build-api.js';
import { buildConfigInputFromProto, buildConfigToProto, buildToProto } from './convert.js';
import { unary } from './handlers.js';

const ns = (namespace: string) => namespace || DEFAULT_NAMESPACE;

/** The client-facing gRPC service. It registers itself on a server it does not own. */
export class BuildService {
  constructor(
    private readonly api: BuildApi,
    private readonly log: Logger,
  ) {}

  addTo(server: grpc.Server): void {
    server.addService(slipwayProto().slipway.v1.BuildService.service, this.handlers());
  }

  private handlers(): BuildServiceHandlers {
    const { api, log } = this;
    return {
      CreateBuildConfig: unary(log, 'CreateBuildConfig', async (req) => {
        const { input } = buildConfigInputFromProto(req.config);
        return buildConfigToProto(await api.createBuildConfig(input));
      }),
      UpdateBuildConfig: unary(log, 'UpdateBuildConfig', async (req) => {
        const { input, resourceVersion } = buildConfigInputFromProto(req.config);
        return buildConfigToProto(await api.updateBuildConfig(input, resourceVersion));
      }),
      GetBuildConfig: unary(log, 'GetBuildConfig', async (req) => buildConfigToProto(await api.getBuildConfig(ns(req.namespace), req.name))),
      ListBuildConfigs: unary(log, 'ListBuildConfigs', async (req) => ({
        items: (await api.listBuildConfigs(ns(req.namespace))).map(buildConfigToProto),
      })),
      DeleteBuildConfig: unary(log, 'DeleteBuildConfig', async (req) => {
        await api.deleteBuildConfig(ns(req.namespace), req.name);
        return {};
      }),
      StartBuild: unary(log, 'StartBuild', async (req) =>
        buildToProto(
          await api.startBuild({
            namespace: ns(req.namespace),
            configName: req.configName,
            ref: req.ref || undefined,
            image: req.image || undefined,
          }),
        ),
      ),
      GetBuild: unary(log, 'GetBuild', async (req) => buildToProto(await api.getBuild(ns(req.namespace), req.name))),
      ListBuilds: unary(log, 'ListBuilds', async (req) => ({
        items: (
          await api.listBuilds({
            namespace: ns(req.namespace),
            configName: req.configName || undefined,
            phase: (req.phase || undefined) as BuildPhase | undefined,
          })
        ).map(buildToProto),
      })),
      WatchBuild: (call) => this.watchBuild(call),
    };
  }

  private async watchBuild(call: grpc.ServerWritableStream<WatchBuildRequest__Output, PBuild>): Promise<void> {
    const abort = new AbortController();
    // The client went away: stop the KV watch so it releases its consumer.
    call.on('cancelled', () => abort.abort());
    try {
      for await (const build of this.api.watchBuild(ns(call.request.namespace), call.request.name, abort.signal)) {
        if (!call.write(buildToProto(build))) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    } catch (err) {
      if (abort.signal.aborted) return;
      this.log.debug('watch ended with an error', { error: errorMessage(err) });
      call.destroy(Object.assign(new Error(errorMessage(err)), toGrpcStatus(err)));
    }
  }
}
