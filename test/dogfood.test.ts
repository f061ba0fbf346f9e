import test from 'ava';
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { waitForHealth } from './helpers/grpc-health.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort } from './helpers/ports.js';
import { run, tempDir } from './helpers/processes.js';
import { registryDigest } from './helpers/registry.js';
import { startSlipway } from './helpers/slipway.js';
import { containerOutput, containerUid, imagesScript, REPO_ROOT, startContainer } from './helpers/slipway-images.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Slipway Test',
  GIT_AUTHOR_EMAIL: 'test@slipway.invalid',
  GIT_COMMITTER_NAME: 'Slipway Test',
  GIT_COMMITTER_EMAIL: 'test@slipway.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

test('Slipway builds its own coordinator image from examples/slipway-coordinator, and that image starts and answers the gRPC health check', async (t) => {
  // Builds Slipway's own images (npm ci inside docker build): minutes on a busy 2-core machine.
  t.timeout(360_000);
  const env = testEnvironment();
  const docker = environmentDocker();
  await imagesScript('base');
  await imagesScript('npm-cache');

  // This working tree as a git repository (what git would commit: tracked and new files, less
  // the ignored ones), plus the offline npm cache, served as ${GIT_BASE}/slipway.
  const git = await startGitServer(t);
  const work = await tempDir(t, 'slipway-dogfood-');
  const files = (await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT }))
    .split('\0')
    .filter((f) => f && existsSync(path.join(REPO_ROOT, f)));
  for (const f of [...files, '.npm-offline'])
    await cp(path.join(REPO_ROOT, f), path.join(work, f), { recursive: true });
  const g = (...args: string[]) => run('git', args, { cwd: work, env: GIT_ENV });
  await g('init', '--quiet', '--initial-branch=main');
  await g('add', '-A');
  await g('add', '--force', '.npm-offline');
  await g('commit', '--quiet', '-m', 'snapshot of the working tree');
  await run('git', ['clone', '--quiet', '--bare', work, path.join(git.root, 'slipway')], { env: GIT_ENV });

  // The example, applied with the CLI as a user would.
  const slipway = await startSlipway(t);
  const address = slipway.coordinators[0]!.address;
  const config = (await readFile(path.join(REPO_ROOT, 'examples/slipway-coordinator/buildconfig.yaml'), 'utf8'))
    .replaceAll('${GIT_BASE}', git.base)
    .replaceAll('${REGISTRY}', env.registry);
  const configFile = path.join(work, '..', `${path.basename(work)}-buildconfig.yaml`);
  await writeFile(configFile, config);
  t.teardown(() => run('rm', ['-f', configFile]));
  await run('node', [path.join(REPO_ROOT, 'bin/slipway.js'), 'apply', '-f', configFile, '--server', address]);

  const repository = `test/dogfood-coordinator-${randomBytes(4).toString('hex')}`;
  const started = await slipway.client.startBuild({
    namespace: 'default',
    configName: 'slipway-coordinator',
    image: `${env.registry}/${repository}:latest`,
  });
  let final;
  for await (const b of slipway.client.watchBuild('default', started.metadata!.name)) final = b;
  t.is(final!.status!.phase, 'Complete', `${final!.status!.reason}: ${final!.status!.message}`);
  const { digest } = final!.status!.output!;
  t.is(await registryDigest(repository, 'latest'), digest);

  // What Slipway pushed, pulled by its digest, runs as a coordinator and says it is serving.
  const image = `${env.registry}/${repository}@${digest}`;
  await docker
    .getImage(image)
    .remove({ force: true })
    .catch(() => {});
  const pull = await docker.pull(image);
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(pull, (err) => (err ? reject(err) : resolve(undefined))),
  );
  const nats = await startNatsServer(t);
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const container = await startContainer(t, docker, {
    image,
    env: { SLIPWAY_NATS_URL: nats.url, SLIPWAY_GRPC_LISTEN: grpcAddress },
  });
  t.is(await waitForHealth(grpcAddress, 'SERVING', 30_000), 'SERVING', await containerOutput(container));
  t.is(await containerUid(container), 65532);
  t.log(`built by Slipway: ${image} (${((await docker.getImage(image).inspect()).Size / 1024 ** 2).toFixed(1)} MiB)`);
});
