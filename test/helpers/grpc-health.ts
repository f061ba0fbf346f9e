import * as grpc from '@grpc/grpc-js';
import { service } from 'grpc-health-check';

type Status = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthClient extends grpc.Client {
  check(
    req: { service: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { status: Status }) => void,
  ): grpc.ClientUnaryCall;
  watch(req: { service: string }): grpc.ClientReadableStream<{ status: Status }>;
}

const HealthClientCtor = grpc.makeClientConstructor(
  service as unknown as grpc.ServiceDefinition,
  'Health',
) as unknown as new (address: string, credentials: grpc.ChannelCredentials) => HealthClient;

/** A `grpc.health.v1.Health` client of `address` (host:port, plain text). */
export function healthClient(address: string): HealthClient {
  return new HealthClientCtor(address, grpc.credentials.createInsecure());
}

/** One `Health/Check` of `name` ('' = the server); rejects with the gRPC error. */
export function checkHealth(client: HealthClient, name = '', timeoutMs = 2000): Promise<Status> {
  return new Promise((resolve, reject) =>
    client.check({ service: name }, { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res!.status),
    ),
  );
}

/** Checks until the answer is `want` or `timeoutMs` passes; returns the last answer or error. */
export async function waitForHealth(address: string, want: Status, timeoutMs: number): Promise<string> {
  const client = healthClient(address);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    while (Date.now() < deadline) {
      last = await checkHealth(client).catch((err: Error) => err.message);
      if (last === want) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    return last;
  } finally {
    client.close();
  }
}
