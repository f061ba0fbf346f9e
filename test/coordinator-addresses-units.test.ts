import test from 'ava';
import { InvalidInputError } from '../common/errors.js';
import { agentConfigFromEnv, resolveAgentConfig } from '../agent/config.js';
import { coordinatorTarget } from '../agent/coordinator-client.js';

const fieldsOf = (env: NodeJS.ProcessEnv) => {
  try {
    resolveAgentConfig(agentConfigFromEnv(env));
    return [];
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    return err.fields.filter((f) => f.field === 'SLIPWAY_COORDINATOR_ADDR').map((f) => f.message);
  }
};

test('SLIPWAY_COORDINATOR_ADDR takes one host:port or a comma-separated list of IP addresses', (t) => {
  t.deepEqual(agentConfigFromEnv({ SLIPWAY_COORDINATOR_ADDR: '10.0.0.1:7070, 10.0.0.2:7071' }).coordinators, [
    '10.0.0.1:7070',
    '10.0.0.2:7071',
  ]);
  t.deepEqual(fieldsOf({ SLIPWAY_COORDINATOR_ADDR: 'slipway-coordinator.slipway:7071' }), []);
  t.deepEqual(fieldsOf({ SLIPWAY_COORDINATOR_ADDR: '10.0.0.1:7070,10.0.0.2:7071' }), []);
  t.deepEqual(fieldsOf({ SLIPWAY_COORDINATOR_ADDR: '[::1]:7070,[fd00::2]:7070' }), []);
});

test('a list with host names, mixed families or a bad address is refused, naming the setting', (t) => {
  t.regex(
    fieldsOf({ SLIPWAY_COORDINATOR_ADDR: 'a.example:7070,b.example:7070' })[0] ?? '',
    /must be given as IP addresses/,
  );
  t.regex(fieldsOf({ SLIPWAY_COORDINATOR_ADDR: '10.0.0.1:7070,[::1]:7070' })[0] ?? '', /must all be IPv4 or all IPv6/);
  t.deepEqual(fieldsOf({ SLIPWAY_COORDINATOR_ADDR: '10.0.0.1:7070,10.0.0.2' }), ['"10.0.0.2" is not host:port']);
  t.throws(() => resolveAgentConfig({ coordinators: [] }), {
    instanceOf: InvalidInputError,
    message: /SLIPWAY_COORDINATOR_ADDR/,
  });
});

test("several addresses become grpc-js's own multi-address target; one stays as it is", (t) => {
  t.is(coordinatorTarget(['coordinator:7071']), 'coordinator:7071');
  t.is(coordinatorTarget(['127.0.0.1:7070', '127.0.0.1:7071']), 'ipv4:127.0.0.1:7070,127.0.0.1:7071');
  t.is(coordinatorTarget(['[::1]:7070', '[::1]:7071']), 'ipv6:[::1]:7070,[::1]:7071');
});
