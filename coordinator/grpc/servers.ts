/** What the coordinator's gRPC servers need to start and stop: credentials from the settings, binding, shutdown. */
import * as grpc from '@grpc/grpc-js';
import { TokenAuthenticator } from '../auth/index.js';
import { COORDINATOR_ENV, readSettingFile, type CoordinatorConfig } from '../config.js';

export interface GrpcSecurity {
  /** The BuildService's tokens; undefined: everyone allowed (local mode). */
  tokens?: TokenAuthenticator;
  serverCredentials: grpc.ServerCredentials;
  /** Mutual TLS for the agents' own port; undefined: AgentService shares the main port. */
  agentCredentials?: grpc.ServerCredentials;
}

/** The gRPC credentials and tokens the settings ask for, files read once. */
export async function grpcSecurity(config: CoordinatorConfig): Promise<GrpcSecurity> {
  const e = COORDINATOR_ENV;
  const tokens = config.apiTokensFile
    ? await TokenAuthenticator.fromFile(config.apiTokensFile, e.apiTokensFile)
    : undefined;
  if (!config.grpcTlsCertFile) return { tokens, serverCredentials: grpc.ServerCredentials.createInsecure() };
  const pair = {
    cert_chain: await readSettingFile(e.grpcTlsCertFile, config.grpcTlsCertFile),
    private_key: await readSettingFile(e.grpcTlsKeyFile, config.grpcTlsKeyFile),
  };
  return {
    tokens,
    // Clients authenticate with tokens: the main port asks for no client certificate.
    serverCredentials: grpc.ServerCredentials.createSsl(null, [pair], false),
    // checkClientCertificate: the handshake fails without a certificate the client CA signed.
    agentCredentials: config.grpcClientCAFile
      ? grpc.ServerCredentials.createSsl(
          await readSettingFile(e.grpcClientCAFile, config.grpcClientCAFile),
          [pair],
          true,
        )
      : undefined,
  };
}

/** Binds `server` to host:port and returns the address with the real port (when 0 was asked for). */
export async function bind(server: grpc.Server, listen: string, credentials: grpc.ServerCredentials): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`;
}

/** Shuts the gRPC servers down: at once when `graceMs` is undefined, else calls in flight get up to `graceMs`. */
export async function shutDownServers(servers: grpc.Server[], graceMs: number | undefined): Promise<void> {
  if (graceMs === undefined) {
    servers.forEach((s) => s.forceShutdown());
    return;
  }
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, graceMs);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        }),
    ),
  );
}
