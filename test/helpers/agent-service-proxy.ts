import * as grpc from '@grpc/grpc-js';
import type { Teardowns } from './teardowns.js';

/** What the proxy does with one call of `method`: pass it on, or answer a fault. */
export type ProxyFault =
  /** The call never reaches the coordinator; the agent is answered INTERNAL. */
  | 'internal-before'
  /** The coordinator handles the call (its write lands), but the agent is answered INTERNAL. */
  | 'internal-after';

/** A gRPC hop between agents and a coordinator's AgentService that can answer faults on demand. */
export interface AgentServiceProxy {
  /** host:port that agents call. */
  address: string;
  /** The next calls of `method` (e.g. CompleteBuild) get these faults, one each, in order; later ones pass. */
  arm(method: string, faults: ProxyFault[]): void;
  /** Calls of `method` that reached the proxy so far, with the code each was answered. */
  calls(method: string): grpc.status[];
}

const METHODS = ['ClaimBuild', 'CompleteBuild', 'FailBuild', 'RecordSourceImages', 'Heartbeat'];
const identity = (b: Buffer) => b;

/**
 * Starts a byte-for-byte proxy of slipway.v1.AgentService to `target` on 127.0.0.1, stopped when
 * `t` ends. Messages are passed on undecoded, with their metadata; the coordinator's answers and
 * errors (code, details, metadata) come back unchanged unless a fault is armed.
 */
export async function startAgentServiceProxy(t: Teardowns, target: string): Promise<AgentServiceProxy> {
  const upstream = new grpc.Client(target, grpc.credentials.createInsecure());
  const armed = new Map<string, ProxyFault[]>();
  const answered = new Map<string, grpc.status[]>();
  const server = new grpc.Server();
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of METHODS) {
    const path = `/slipway.v1.AgentService/${method}`;
    definition[method] = {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    handlers[method] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const fault = armed.get(method)?.shift();
      const answer = (err: Partial<grpc.StatusObject> | null, res?: Buffer) => {
        answered.set(method, [...(answered.get(method) ?? []), err?.code ?? grpc.status.OK]);
        cb(err, res);
      };
      const internal = { code: grpc.status.INTERNAL, details: `proxy fault (${fault}): ${method}` };
      if (fault === 'internal-before') return answer(internal);
      upstream.makeUnaryRequest(
        path,
        identity,
        identity,
        call.request,
        call.metadata,
        { deadline: call.getDeadline() },
        (err, res) => {
          if (fault === 'internal-after') answer(internal);
          else if (err) answer({ code: err.code, details: err.details, metadata: err.metadata });
          else answer(null, res);
        },
      );
    };
  }
  server.addService(definition, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  t.teardown(() => {
    server.forceShutdown();
    upstream.close();
  });
  return {
    address: `127.0.0.1:${port}`,
    arm: (method, faults) => armed.set(method, [...faults]),
    calls: (method) => answered.get(method) ?? [],
  };
}
