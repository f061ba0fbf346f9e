import net from 'node:net';
import test from 'ava';
import { freeLoopbackPort } from '../common/free-port.js';
import { silentLogger } from '../common/log.js';
import { resolveCoordinatorConfig } from '../coordinator/config.js';
import { Coordinator } from '../coordinator/coordinator.js';
import { startNatsServer } from './helpers/nats-server.js';
import { testCoordinatorSettings } from './helpers/slipway.js';

// Start-up is a stack of closers (coordinator.ts): a start that fails part-way closes what had
// started, newest first, as stop() does.

test('a start that fails part-way closes what had started: its gRPC port is free again and its NATS connection gone', async (t) => {
  const nats = await startNatsServer(t, { monitor: true });
  // The HTTP port is taken: the start fails after NATS, the buckets and the gRPC port.
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const httpPort = (taken.address() as net.AddressInfo).port;
  const grpcPort = await freeLoopbackPort();
  const id = 'coordinator-that-fails';
  const config = resolveCoordinatorConfig({
    ...testCoordinatorSettings(),
    natsServers: [nats.url],
    grpcListen: `127.0.0.1:${grpcPort}`,
    httpListen: `127.0.0.1:${httpPort}`,
    id,
  });

  await t.throwsAsync(Coordinator.start(config, { log: silentLogger }), { message: /EADDRINUSE/ });

  const again = net.createServer();
  await t.notThrowsAsync(
    new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(grpcPort, '127.0.0.1', resolve);
    }),
    'the gRPC port is free',
  );
  await new Promise<void>((resolve) => again.close(() => resolve()));
  const connz = (await (await fetch(`${nats.monitorUrl}/connz`)).json()) as { connections?: { name?: string }[] };
  t.false(
    (connz.connections ?? []).some((c) => c.name === id),
    'no NATS connection of the coordinator is left',
  );
});
