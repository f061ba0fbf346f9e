import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import test from 'ava';
import { statSync } from 'node:fs';
import { AGENTS_BUCKET } from '../common/nats/names.js';
import { SlipwayClient } from '../cli/client.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { waitForHealth } from './helpers/grpc-health.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort } from './helpers/ports.js';
import { dockerBuildConfig } from './helpers/slipway.js';
import { containerOutput, containerUid, imageSizeMiB, imagesScript, startContainer } from './helpers/slipway-images.js';
import { eventually } from './helpers/eventually.js';

test('the coordinator and agent images build on a local Node base, run as uid 10001, answer the health check, serve the dashboard and run a build', async (t) => {
  // Builds Slipway's own images (npm ci inside docker build): minutes on a busy 2-core machine.
  t.timeout(360_000);
  const env = testEnvironment();
  const docker = environmentDocker();
  const [coordinatorImage, agentImage] = await imagesScript('build', 'coordinator', 'agent');
  const [base, slim] = await imagesScript('base');
  t.log(
    `sizes: ${base} ${await imageSizeMiB(docker, base!)} MiB, ${slim} ${await imageSizeMiB(docker, slim!)} MiB, coordinator ${await imageSizeMiB(docker, coordinatorImage!)} MiB, agent ${await imageSizeMiB(docker, agentImage!)} MiB`,
  );
  for (const image of [coordinatorImage!, agentImage!])
    t.is((await docker.getImage(image).inspect()).Config.User, '10001:10001', image);

  const nats = await startNatsServer(t);
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const coordinator = await startContainer(t, docker, {
    image: coordinatorImage!,
    env: { SLIPWAY_NATS_URL: nats.url, SLIPWAY_GRPC_LISTEN: grpcAddress, SLIPWAY_HTTP_LISTEN: httpAddress },
  });
  const health = await waitForHealth(grpcAddress, 'SERVING', 30_000);
  t.is(health, 'SERVING', await containerOutput(coordinator));
  t.is(await containerUid(coordinator), 10001);
  // The dashboard's files are in the image: its page and the browser module it loads.
  const page = await fetch(`http://${httpAddress}/ui/namespaces/default/builds`);
  t.is(page.status, 200);
  t.regex(await page.text(), /<script type="module" src="\/ui\/assets\/builds-page\.js">/);
  const script = await fetch(`http://${httpAddress}/ui/assets/builds-page.js`);
  t.is(script.status, 200, await containerOutput(coordinator));
  t.regex(await script.text(), /from '\.\/common\.js'/);

  // The agent, with the host executor on the environment's daemon through its socket, which it
  // may use as a member of the socket's group.
  const socket = env.dockerHost.replace(/^unix:\/\//, '');
  const agentName = 'agent-in-a-container';
  const agent = await startContainer(t, docker, {
    image: agentImage!,
    env: {
      SLIPWAY_NATS_URL: nats.url,
      SLIPWAY_COORDINATOR_ADDR: grpcAddress,
      SLIPWAY_DOCKER_HOST: 'unix:///var/run/docker.sock',
      SLIPWAY_AGENT_NAME: agentName,
      SLIPWAY_NODE_NAME: 'node-in-a-container',
      SLIPWAY_HEARTBEAT_INTERVAL_MS: '500',
      // Image GC would remove other tests' images from the shared daemon.
      SLIPWAY_GC_INTERVAL_MS: '0',
    },
    binds: [`${socket}:/var/run/docker.sock`],
    groupAdd: [String(statSync(socket).gid)],
  });
  t.is(await containerUid(agent), 10001);

  // It heartbeats: its record appears in the agents bucket.
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const agents = await new Kvm(nc).open(AGENTS_BUCKET);
  await eventually(
    `the agent ${agentName} in the agents bucket`,
    async () => {
      for await (const k of await agents.keys()) if (k.includes(agentName)) return true;
      return false;
    },
    { detail: () => containerOutput(agent) },
  );

  // And the two of them build: git fetch in the agent's image, docker build through the socket.
  const git = await startGitServer(t);
  const repo = await git.createRepo('app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo built-by-images > /word\n` });
  const client = new SlipwayClient(grpcAddress);
  t.teardown(() => client.close());
  await client.createBuildConfig(dockerBuildConfig('app', repo.uri, `${env.registry}/test/images-smoke:latest`));
  await client.startBuild({ namespace: 'default', configName: 'app' });
  let final;
  for await (const b of client.watchBuild('default', 'app-1')) final = b;
  t.is(final!.status!.phase, 'Complete', `${final!.status!.message}\n${await containerOutput(agent)}`);
  t.is(final!.status!.node, 'node-in-a-container');

  // A clean stop on SIGTERM: exit status 0.
  await coordinator.stop({ t: 10 });
  await agent.stop({ t: 10 });
  t.is((await coordinator.inspect()).State.ExitCode, 0, await containerOutput(coordinator));
  t.is((await agent.inspect()).State.ExitCode, 0, await containerOutput(agent));
});
