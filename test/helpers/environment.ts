/**
 * The shared parts of the local environment that `scripts/devenv up` starts (a private dockerd
 * and a registry seeded with library/busybox), as its env.sh exports them. NATS and git servers
 * are started per test file instead (nats-server.ts, git-server.ts).
 */
export interface TestEnvironment {
  dockerHost: string;
  registry: string;
  baseImage: string;
}

export function testEnvironment(): TestEnvironment {
  const need = (name: string) => {
    const v = process.env[name];
    if (!v)
      throw new Error(
        `${name} is not set: run the tests with "bash scripts/test" (or source .work/env.sh after "bash scripts/devenv up")`,
      );
    return v;
  };
  return {
    dockerHost: need('SLIPWAY_DOCKER_HOST'),
    registry: need('SLIPWAY_REGISTRY'),
    baseImage: need('SLIPWAY_BASE_IMAGE'),
  };
}
