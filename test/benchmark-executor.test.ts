import test from 'ava';
import { agentConfigFromEnv, AGENT_ENV, defaultAgentConfig, resolveAgentConfig } from '../agent/config.js';
import { InvalidInputError } from '../common/errors.js';

test('the benchmark no-op executor cannot be chosen by configuration, and is not the default', (t) => {
  t.is(defaultAgentConfig().executor, 'host');
  const err = t.throws(() => resolveAgentConfig(agentConfigFromEnv({ [AGENT_ENV.executor]: 'benchmark-noop' })), {
    instanceOf: InvalidInputError,
  });
  t.regex(err!.message, /SLIPWAY_EXECUTOR.*"benchmark-noop" is not a known executor \(host, dind\)/s);
});
