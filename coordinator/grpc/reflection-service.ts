import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService as GrpcReflection } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { slipwayPackageDefinition } from '../../common/grpc/proto.js';
import { toGrpcStatus } from '../../common/grpc/status.js';
import type { Logger } from '../../common/log.js';
import type { CallAuthorizer } from './call-auth.js';

/**
 * The services reflection lists: the ones a client of the main port calls. AgentService (the
 * agents' own protocol, on its own mTLS port when there is one) is not listed, though its
 * messages are in slipway.proto, which reflection serves whole.
 */
export const REFLECTED_SERVICES = ['slipway.v1.BuildService', 'grpc.health.v1.Health'] as const;

/**
 * gRPC server reflection (`grpc.reflection.v1.ServerReflection` and the older `v1alpha` that
 * some clients still ask first), from grpc-node's `@grpc/reflection`, so `grpcurl` and other
 * clients without the proto files can list the services, fetch their descriptors and call them.
 *
 * Behind the same tokens as BuildService: with a token file, a call needs a known bearer token
 * (any role: describing the API is what the Kubernetes API lets every authenticated user read),
 * and is answered UNAUTHENTICATED without one before any request is read. Without a token file
 * (local mode) everyone may call it, as BuildService.
 *
 * It registers itself on a server it does not own; the library's handlers are wrapped, not changed.
 */
export class ReflectionService {
  private readonly reflection = new GrpcReflection(
    // proto-loader's definitions carry the serialized file descriptors reflection answers with.
    { ...slipwayPackageDefinition(), ...protoLoader.loadSync(healthProtoPath, { keepCase: true }) },
    { services: [...REFLECTED_SERVICES] },
  );

  constructor(
    private readonly auth: CallAuthorizer,
    private readonly log: Logger,
  ) {}

  addTo(server: grpc.Server): void {
    this.reflection.addToServer({
      addService: (service, implementation) => server.addService(service, this.guarded(service, implementation)),
    });
  }

  /** Each of the library's handlers (bidi streams), run only once the call's token is accepted. */
  private guarded(
    service: grpc.ServiceDefinition,
    implementation: grpc.UntypedServiceImplementation,
  ): grpc.UntypedServiceImplementation {
    const guarded: grpc.UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(implementation)) {
      const path = service[name]?.path ?? name;
      guarded[name] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        try {
          this.auth.checkDiscovery(call, path);
        } catch (err) {
          const status = toGrpcStatus(err);
          this.log.debug('reflection call refused', { method: path, error: status.details });
          // grpc-js sends an 'error' event's status as the call's status, then ends the call.
          call.emit('error', status);
          return;
        }
        (handler as grpc.handleBidiStreamingCall<unknown, unknown>)(call);
      };
    }
    return guarded;
  }
}
