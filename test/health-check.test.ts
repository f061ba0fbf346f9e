import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { checkHealth, healthClient } from './helpers/grpc-health.js';
import { startSlipway } from './helpers/slipway.js';
import { eventually } from './helpers/eventually.js';

test('the coordinator answers the gRPC health check: SERVING for the server and its services, NOT_FOUND for others', async (t) => {
  const slipway = await startSlipway(t, { agents: 0 });
  const client = healthClient(slipway.coordinators[0]!.address);
  t.teardown(() => client.close());

  t.is(await checkHealth(client), 'SERVING');
  t.is(await checkHealth(client, 'slipway.v1.BuildService'), 'SERVING');
  t.is(await checkHealth(client, 'slipway.v1.AgentService'), 'SERVING');
  const err = await t.throwsAsync(checkHealth(client, 'no.such.Service'));
  t.is((err as grpc.ServiceError).code, grpc.status.NOT_FOUND);
});

test('the health status turns NOT_SERVING while NATS is down and when the coordinator shuts down', async (t) => {
  const slipway = await startSlipway(t, { agents: 0 });
  const client = healthClient(slipway.coordinators[0]!.address);
  t.teardown(() => client.close());
  const seen: string[] = [];
  const watch = client.watch({ service: '' });
  watch.on('data', (m: { status: string }) => seen.push(m.status));
  watch.on('error', () => {});
  const waitFor = async (status: string) => {
    await eventually(`health ${status}`, () => seen.at(-1) === status, { timeoutMs: 10_000, detail: () => seen });
    return seen.at(-1);
  };

  t.is(await waitFor('SERVING'), 'SERVING');
  await slipway.nats.restart({ downMs: 1500 });
  t.is(await waitFor('SERVING'), 'SERVING');
  t.true(seen.includes('NOT_SERVING'), seen.join(' '));

  seen.length = 0;
  const stopped = slipway.coordinators[0]!.stop(500);
  t.is(await waitFor('NOT_SERVING'), 'NOT_SERVING');
  await stopped;
});
