import * as grpc from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';

/** gRPC code numbers to their names, as in grpc-go's and go-grpc-prometheus's `grpc_code`. */
const CODE_NAMES = new Map<number, string>(
  Object.entries(grpc.status)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([name, code]) => [code, name]),
);

/**
 * Calls answered by this coordinator, by service, method and status code, and how long they
 * took (for streams: how long they were open), from a grpc-js server interceptor. The
 * interceptor sees every call the server dispatches, whatever its kind (unary, server or
 * client streaming) and however it ends: a handler's status, a request that could not be
 * decoded, or a client that went away (CANCELLED). Each call lands on one coordinator: sum
 * over coordinators.
 */
export class GrpcMetrics {
  private readonly handled: Counter<'service' | 'method' | 'code'>;
  private readonly seconds: Histogram<'service' | 'method'>;

  constructor(registry: Registry) {
    this.handled = new Counter({
      name: 'slipway_grpc_server_handled_total',
      help: 'gRPC calls this coordinator answered, by service, method and status code (OK, INVALID_ARGUMENT, NOT_FOUND, …). Each call lands on one coordinator: sum over coordinators.',
      labelNames: ['service', 'method', 'code'],
      registers: [registry],
    });
    this.seconds = new Histogram({
      name: 'slipway_grpc_server_handling_seconds',
      help: "Time from a gRPC call's start to its status (streams: how long they were open), by service and method. Sum over coordinators.",
      labelNames: ['service', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
  }

  /** For `new grpc.Server({ interceptors: [metrics.interceptor] })`. */
  readonly interceptor: grpc.ServerInterceptor = (method, call) => {
    // path is /package.Service/Method
    const slash = method.path.lastIndexOf('/');
    const labels = { service: method.path.slice(1, slash), method: method.path.slice(slash + 1) };
    const started = performance.now();
    let recorded = false;
    const record = (code: number) => {
      if (recorded) return;
      recorded = true;
      this.handled.inc({ ...labels, code: CODE_NAMES.get(code) ?? String(code) });
      this.seconds.observe(labels, (performance.now() - started) / 1000);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => record(grpc.status.CANCELLED) }),
      sendStatus: (status, next) => {
        record(status.code);
        next(status);
      },
    });
  };
}
