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
import { startSshGitServer } from './helpers/ssh-git-server.js';
import { pullThrough } from './helpers/upstream-registry.js';
import { runToExit, startRestrictedContainer } from './helpers/restricted-containers.js';

/** The chart's user for every Slipway container (runAsUser and runAsGroup). */
const SLIPWAY_USER = '65532:65532';

// The three images, built once for every test in this file (the tests run concurrently).
let built: Promise<string[]> | undefined;
const images = async () => {
  const [coordinator, agent, nodeCache] = await (built ??= imagesScript('build', 'coordinator', 'agent', 'node-cache'));
  return { coordinator: coordinator!, agent: agent!, nodeCache: nodeCache! };
};

test('the coordinator and agent images build on a local Node base, run as uid 65532, answer the health check, serve the dashboard and run a build', async (t) => {
  // Builds Slipway's own images (npm ci inside docker build): minutes on a busy 2-core machine.
  t.timeout(360_000);
  const env = testEnvironment();
  const docker = environmentDocker();
  const { coordinator: coordinatorImage, agent: agentImage, nodeCache: nodeCacheImage } = await images();
  const [base, slim] = await imagesScript('base');
  t.log(
    `sizes: ${base} ${await imageSizeMiB(docker, base!)} MiB, ${slim} ${await imageSizeMiB(docker, slim!)} MiB, coordinator ${await imageSizeMiB(docker, coordinatorImage)} MiB, agent ${await imageSizeMiB(docker, agentImage)} MiB, node-cache ${await imageSizeMiB(docker, nodeCacheImage)} MiB`,
  );
  for (const image of [coordinatorImage, agentImage, nodeCacheImage])
    t.is((await docker.getImage(image).inspect()).Config.User, SLIPWAY_USER, image);

  const nats = await startNatsServer(t);
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const coordinator = await startContainer(t, docker, {
    image: coordinatorImage,
    env: { SLIPWAY_NATS_URL: nats.url, SLIPWAY_GRPC_LISTEN: grpcAddress, SLIPWAY_HTTP_LISTEN: httpAddress },
  });
  const health = await waitForHealth(grpcAddress, 'SERVING', 30_000);
  t.is(health, 'SERVING', await containerOutput(coordinator));
  t.is(await containerUid(coordinator), 65532);
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
    image: agentImage,
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
  t.is(await containerUid(agent), 65532);

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

test('the agent image, as the chart runs it (uid 65532, read-only root, HOME=/tmp), fetches over ssh:// with the flags the agent gives ssh', async (t) => {
  t.timeout(360_000);
  const docker = environmentDocker();
  const { agent } = await images();
  const git = await startGitServer(t);
  await git.createRepo('over-ssh', { Dockerfile: 'FROM scratch\n' });
  const ssh = await startSshGitServer(t);
  // What agent/source/git-source.ts does: key and known_hosts in files of the build's own,
  // named in GIT_SSH_COMMAND. Without a passwd entry for its uid, ssh stops before connecting
  // ("No user exists for uid 65532").
  const script = [
    'umask 077',
    'printf "%s" "$KEY" > /tmp/key',
    'printf "%s" "$KNOWN_HOSTS" > /tmp/known_hosts',
    `export GIT_SSH_COMMAND="ssh -i /tmp/key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/tmp/known_hosts"`,
    'exec git ls-remote "$URL"',
  ].join('\n');
  const { exitCode, output } = await runToExit(t, docker, {
    image: agent,
    entrypoint: ['sh', '-c', script],
    user: SLIPWAY_USER,
    readOnly: true,
    tmpfs: { '/tmp': '' },
    // The ssh server listens on the host's loopback: the host's network lets the container reach it.
    env: { HOME: '/tmp', KEY: ssh.clientKey, KNOWN_HOSTS: ssh.knownHosts, URL: `${ssh.base}${git.root}/over-ssh` },
  });
  t.is(exitCode, 0, output);
  t.regex(output, /^[0-9a-f]{40}\trefs\/heads\/\w+$/m);
});

test('the node-cache image, as the chart runs it, starts its registry and serves a pull-through mirror of the local registry', async (t) => {
  t.timeout(360_000);
  const env = testEnvironment();
  const docker = environmentDocker();
  const { nodeCache } = await images();
  const listen = `127.0.0.1:${await freePort()}`;
  const cache = await startRestrictedContainer(t, docker, {
    image: nodeCache,
    user: SLIPWAY_USER,
    readOnly: true,
    // The chart's emptyDir for SLIPWAY_CACHE_ROOT, writable by the Pod's fsGroup.
    tmpfs: { '/var/lib/slipway/node-cache': 'uid=65532,gid=65532,mode=0750' },
    env: {
      SLIPWAY_CACHE_UPSTREAM: `http://${env.registry}`,
      SLIPWAY_CACHE_LISTEN: listen,
      SLIPWAY_CACHE_SWEEP_INTERVAL_MS: '0',
    },
  });
  const pulled = await eventually(
    `busybox through the node cache at ${listen}`,
    async () => {
      const r = await pullThrough(listen, 'library/busybox', 'latest').catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    },
    { detail: () => containerOutput(cache) },
  );
  t.true(pulled.blobs.length >= 2, await containerOutput(cache));
  t.is(await containerUid(cache), 65532);
});
