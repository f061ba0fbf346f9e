import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type Docker from 'dockerode';
import { protoRoot } from '../../common/grpc/proto.js';
import type { RegistryAuth } from './types.js';

/** What a build's session hands BuildKit when it asks. */
export interface SessionServices {
  /** Credentials for the registries the build pulls from; a host not among them is pulled anonymously. */
  registries: readonly RegistryAuth[];
  /** Build secrets by id (`RUN --mount=type=secret,id=…`). */
  secrets: ReadonlyMap<string, Buffer>;
}

/** A session dockerd can call back while it runs one build. */
export interface BuildSession {
  /** The id the build request names (`session=`). */
  readonly id: string;
  /** Ends the session (idempotent); BuildKit can no longer call it. */
  close(): void;
}

/** The session's gRPC methods, as dockerd is told them (it only calls what is announced). */
const METHODS = ['/moby.filesync.v1.Auth/Credentials', '/moby.buildkit.secrets.v1.Secrets/GetSecret'];

interface ServiceDefinitions {
  auth: grpc.ServiceDefinition;
  secrets: grpc.ServiceDefinition;
}
let definitions: ServiceDefinitions | undefined;

function serviceDefinitions(): ServiceDefinitions {
  if (definitions) return definitions;
  const load = (file: string) =>
    grpc.loadPackageDefinition(
      protoLoader.loadSync(path.join('moby', file), { keepCase: true, defaults: true, includeDirs: [protoRoot()] }),
    );
  const auth = load('buildkit-session.proto') as unknown as {
    moby: { filesync: { v1: { Auth: grpc.ServiceClientConstructor } } };
  };
  const secrets = load('buildkit-secrets.proto') as unknown as {
    moby: { buildkit: { secrets: { v1: { Secrets: grpc.ServiceClientConstructor } } } };
  };
  definitions = {
    auth: auth.moby.filesync.v1.Auth.service,
    secrets: secrets.moby.buildkit.secrets.v1.Secrets.service,
  };
  return definitions;
}

/**
 * Opens a BuildKit session on the daemon (POST /session, upgraded to h2c) and serves, on that
 * connection, the registry credentials and build secrets of one build. The daemon is the gRPC
 * client here: BuildKit calls back through the session when a pull meets a 401 and when a RUN
 * step mounts a secret. Credentials go only to the registry they are for; secrets only to the
 * build whose request names this session's id.
 * @throws Error when the daemon refuses the session (an API too old for BuildKit).
 */
export async function openBuildSession(
  docker: Docker,
  services: SessionServices,
  signal?: AbortSignal,
): Promise<BuildSession> {
  const id = randomUUID();
  const socket = await new Promise<Duplex>((resolve, reject) =>
    docker.modem.dial(
      {
        path: '/session',
        method: 'POST',
        hijack: true,
        abortSignal: signal,
        headers: {
          Upgrade: 'h2c',
          'X-Docker-Expose-Session-Uuid': id,
          'X-Docker-Expose-Session-Name': 'slipway',
          'X-Docker-Expose-Session-Sharedkey': id,
          'X-Docker-Expose-Session-Grpc-Method': METHODS,
        },
        statusCodes: { 101: true, 200: true, 400: 'bad request', 500: 'server error' },
      },
      (err: unknown, sock: unknown) => (err ? reject(err) : resolve(sock as Duplex)),
    ),
  );
  const server = new grpc.Server();
  const { auth, secrets } = serviceDefinitions();
  server.addService(auth, {
    Credentials(
      call: grpc.ServerUnaryCall<{ Host: string }, unknown>,
      done: grpc.sendUnaryData<{ Username: string; Secret: string }>,
    ) {
      const found = services.registries.find((r) => registryHost(r.registry) === call.request.Host);
      done(null, found ? { Username: found.username, Secret: found.password } : { Username: '', Secret: '' });
    },
  });
  server.addService(secrets, {
    GetSecret(call: grpc.ServerUnaryCall<{ ID: string }, unknown>, done: grpc.sendUnaryData<{ data: Buffer }>) {
      const value = services.secrets.get(call.request.ID);
      if (value) return done(null, { data: value });
      done({ code: grpc.status.NOT_FOUND, details: `no build secret with id "${call.request.ID}"` });
    },
  });
  server.createConnectionInjector(grpc.ServerCredentials.createInsecure()).injectConnection(socket);
  let closed = false;
  return {
    id,
    close() {
      if (closed) return;
      closed = true;
      server.forceShutdown();
      socket.destroy();
    },
  };
}

/** A registry as BuildKit names it when it asks for credentials: the host[:port], no scheme or path. */
function registryHost(registry: string): string {
  const host = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host) ? 'registry-1.docker.io' : host;
}
