import { testEnvironment, type TestEnvironment } from '../../test/helpers/environment.js';
import { startGitServer, type GitServer } from '../../test/helpers/git-server.js';
import type { CoordinatorConfig } from '../../coordinator/config.js';
import { startSlipway, type Slipway } from '../../test/helpers/slipway.js';
import { TeardownStack } from '../../test/helpers/teardowns.js';

export interface BenchSlipway {
  stack: TeardownStack;
  env: TestEnvironment;
  git: GitServer;
  /** A coordinator and no agent yet: each benchmark adds the agents it measures. */
  sw: Slipway;
}

/**
 * Runs `fn` on a Slipway of its own (the tests' real environment, a git server), then stops it
 * all. `coordinator`: settings over the tests' defaults (testCoordinatorSettings).
 */
export async function onSlipway<T>(
  fn: (s: BenchSlipway) => Promise<T>,
  o: { coordinator?: Partial<CoordinatorConfig> } = {},
): Promise<T> {
  const stack = new TeardownStack();
  try {
    const env = testEnvironment();
    const git = await startGitServer(stack);
    const sw = await startSlipway(stack, { agents: 0, coordinator: o.coordinator });
    return await fn({ stack, env, git, sw });
  } finally {
    await stack.run();
  }
}
