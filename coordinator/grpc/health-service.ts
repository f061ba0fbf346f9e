import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/**
 * The names `grpc.health.v1.Health/Check` answers for: `''` is the server as a whole (what
 * `grpc_health_probe` and Kubernetes' gRPC probes ask by default), then each Slipway service.
 * Any other name is answered NOT_FOUND.
 */
export const HEALTH_SERVICE_NAMES = ['', 'slipway.v1.BuildService', 'slipway.v1.AgentService'] as const;

/**
 * The standard gRPC health service (grpc-node's `grpc-health-check`), one status for every
 * name in {@link HEALTH_SERVICE_NAMES}: NOT_SERVING until the coordinator has NATS and its
 * state store, SERVING while it has them, NOT_SERVING again while NATS is unreachable and from
 * the moment it starts shutting down. It registers itself on a server it does not own.
 */
export class HealthService {
  private readonly impl = new HealthImplementation(
    Object.fromEntries(HEALTH_SERVICE_NAMES.map((n) => [n, 'NOT_SERVING' as ServingStatus])),
  );
  private current: ServingStatus = 'NOT_SERVING';
  private stopping = false;

  addTo(server: grpc.Server): void {
    this.impl.addToServer(server);
  }

  /** SERVING or NOT_SERVING for every name; once shutting down, it stays NOT_SERVING. */
  set(status: 'SERVING' | 'NOT_SERVING'): void {
    if (this.stopping || status === this.current) return;
    this.current = status;
    for (const name of HEALTH_SERVICE_NAMES) this.impl.setStatus(name, status);
  }

  /** NOT_SERVING from now on: the coordinator is shutting down. */
  shuttingDown(): void {
    this.set('NOT_SERVING');
    this.stopping = true;
  }
}
