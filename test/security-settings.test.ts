import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { agentConfigFromEnv, resolveAgentConfig } from '../agent/config.js';
import { InvalidInputError } from '../common/errors.js';
import { agentPermissions } from '../common/nats/permissions.js';
import { coordinatorConfigFromEnv, resolveCoordinatorConfig } from '../coordinator/config.js';
import { tempDir } from './helpers/processes.js';

/** Security settings that do not fit together stop the process, naming the setting. */

function fields(fn: () => unknown): string[] {
  try {
    fn();
    return [];
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    return err.fields.map((f) => f.field);
  }
}

test('coordinator: TLS, the agents’ port and NATS credentials are checked together', async (t) => {
  const dir = await tempDir(t);
  const pem = path.join(dir, 'x.pem');
  await writeFile(pem, 'x');
  const coordinator = (env: Record<string, string>) =>
    fields(() => resolveCoordinatorConfig(coordinatorConfigFromEnv(env)));
  t.deepEqual(coordinator({ SLIPWAY_GRPC_TLS_CERT: pem }), ['SLIPWAY_GRPC_TLS_KEY']);
  t.deepEqual(coordinator({ SLIPWAY_GRPC_TLS_CERT: pem, SLIPWAY_GRPC_TLS_KEY: path.join(dir, 'missing') }), [
    'SLIPWAY_GRPC_TLS_KEY',
  ]);
  t.deepEqual(coordinator({ SLIPWAY_GRPC_TLS_CERT: pem, SLIPWAY_GRPC_TLS_KEY: pem, SLIPWAY_GRPC_CLIENT_CA: pem }), [
    'SLIPWAY_AGENT_GRPC_LISTEN',
  ]);
  t.deepEqual(coordinator({ SLIPWAY_AGENT_GRPC_LISTEN: '127.0.0.1:7071' }), ['SLIPWAY_GRPC_CLIENT_CA']);
  t.deepEqual(coordinator({ SLIPWAY_GRPC_CLIENT_CA: pem, SLIPWAY_AGENT_GRPC_LISTEN: '127.0.0.1:7071' }), [
    'SLIPWAY_GRPC_TLS_CERT',
  ]);
  t.deepEqual(
    coordinator({
      SLIPWAY_GRPC_TLS_CERT: pem,
      SLIPWAY_GRPC_TLS_KEY: pem,
      SLIPWAY_GRPC_CLIENT_CA: pem,
      SLIPWAY_AGENT_GRPC_LISTEN: '127.0.0.1:7071',
    }),
    [],
  );
  t.deepEqual(coordinator({ SLIPWAY_NATS_USER: 'c' }), ['SLIPWAY_NATS_PASSWORD']);
  t.deepEqual(coordinator({ SLIPWAY_NATS_USER: 'c', SLIPWAY_NATS_PASSWORD: 'p', SLIPWAY_NATS_CREDS: pem }), [
    'SLIPWAY_NATS_CREDS',
  ]);
  // A setting's error names the setting, never the password.
  const err = t.throws(() =>
    resolveCoordinatorConfig(coordinatorConfigFromEnv({ SLIPWAY_NATS_PASSWORD: 'hunter2-secret' })),
  );
  t.false(err!.message.includes('hunter2-secret'));
});

test('agent: a client certificate needs its key and the CA to check the coordinator with', async (t) => {
  const dir = await tempDir(t);
  const pem = path.join(dir, 'x.pem');
  await writeFile(pem, 'x');
  const agent = (env: Record<string, string>) => fields(() => resolveAgentConfig(agentConfigFromEnv(env)));
  t.deepEqual(agent({ SLIPWAY_AGENT_TLS_CERT: pem }), ['SLIPWAY_AGENT_TLS_KEY', 'SLIPWAY_AGENT_TLS_CA']);
  t.deepEqual(agent({ SLIPWAY_AGENT_TLS_CERT: pem, SLIPWAY_AGENT_TLS_KEY: pem, SLIPWAY_AGENT_TLS_CA: pem }), []);
  t.deepEqual(agent({ SLIPWAY_NATS_PASSWORD: 'p' }), ['SLIPWAY_NATS_USER']);
});

test('the agents’ NATS user gets no KV subject, no stream management, and no coordinator replies', (t) => {
  const { publish, subscribe } = agentPermissions();
  for (const s of [...publish, ...subscribe]) {
    t.false(s.startsWith('$KV.') || s.includes('KV_'), s);
    t.false(/^\$JS\.API\.(STREAM\.(CREATE|UPDATE|DELETE|PURGE)|CONSUMER\.(CREATE|DELETE)\.SLIPWAY_)/.test(s), s);
    t.false(s === '>' || s.startsWith('_INBOX.') || s === '$JS.API.>', s);
  }
});
