import type { Build } from '../../api/types.js';

/**
 * The smallest valid Build: build 1 of config `app` in namespace default (a Dockerfile build of
 * git://h/r to r/a:v), in `phase` at `attempt`, for tests of the state machine and the caches.
 */
export function minimalBuild(phase: Build['status']['phase'], attempt: number, createdAt = new Date()): Build {
  return {
    metadata: {
      name: 'app-1',
      namespace: 'default',
      uid: 'u',
      creationTimestamp: createdAt.toISOString(),
      generation: 1,
      labels: { 'slipway.dev/buildconfig': 'app' },
    },
    spec: {
      configName: 'app',
      configGeneration: 1,
      config: { source: { git: { uri: 'git://h/r' } }, strategy: { docker: {} }, output: { image: 'r/a:v' } },
    },
    status: { phase, attempt },
  };
}
