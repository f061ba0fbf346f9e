import test from 'ava';
import { agentConfigFromEnv, AGENT_ENV, resolveAgentConfig } from '../agent/config.js';
import { agentNameProblem } from '../common/agent-name.js';
import { InvalidInputError } from '../common/errors.js';

test('agent names are node or host names, checked where the agent starts and where the coordinator hears it', (t) => {
  for (const ok of ['vm', 'node-1', 'ip-10-0-0-1.ec2.internal', 'Worker_2']) t.is(agentNameProblem(ok), undefined, ok);
  for (const bad of ['', 'a..b', '.a', 'a.', '-a', 'a b', 'a/b', 'a*', 'ä', 'x'.repeat(254)])
    t.truthy(agentNameProblem(bad), JSON.stringify(bad));
  const err = t.throws(() => resolveAgentConfig(agentConfigFromEnv({ [AGENT_ENV.name]: 'a..b' })), {
    instanceOf: InvalidInputError,
  });
  t.regex(err!.message, /SLIPWAY_AGENT_NAME: "a\.\.b" is not a node or host name/);
});
