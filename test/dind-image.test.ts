import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type Docker from 'dockerode';
import { environmentDocker, demux } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { eventually } from './helpers/eventually.js';
import { forwardIntoNetns } from './helpers/netns-forward.js';
import { tempDir } from './helpers/processes.js';
import { registryDigest } from './helpers/registry.js';
import { imagesScript } from './helpers/slipway-images.js';

/** The dind sidecar's command, args and env as charts/slipway renders them (agent.mode=dind, no node cache). */
const CHART_COMMAND = ['dockerd-entrypoint.sh'];
const CHART_ARGS = [
  'dockerd',
  '--host=unix:///run/slipway-dind/docker.sock',
  '--group=65532',
  '--data-root=/var/lib/docker',
  '--userns-remap=default',
];
const CHART_ENV = [
  'DOCKER_TLS_CERTDIR=',
  'BUILDKIT_STEP_LOG_MAX_SIZE=1073741824',
  'BUILDKIT_STEP_LOG_MAX_SPEED=1073741824',
];

async function exec(container: Docker.Container, cmd: string[]): Promise<{ exitCode: number; output: string }> {
  const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({});
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  await new Promise((resolve) => stream.on('end', resolve));
  return { exitCode: (await e.inspect()).ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
}

test('the local dind image, with the chart command line, becomes ready, pulls from the registry, builds with BuildKit and the classic builder and pushes', async (t) => {
  t.timeout(300_000);
  const env = testEnvironment();
  const docker = environmentDocker();
  const [image] = await imagesScript('dind');
  // The Pod's volumes: an emptyDir as the data root (here a host folder; it ends up holding
  // root-owned files, removed as root when the test ends) and the socket folder shared with the agent.
  const dir = await tempDir(t, 'slipway-dind-image-');
  const dataRoot = path.join(dir, 'data');
  const socketDir = path.join(dir, 'run');
  await mkdir(dataRoot);
  await mkdir(socketDir);

  // The chart's securityContext is privileged: true. Where the dockerd running this test cannot
  // grant it (its host lacks a capability, so runc fails with "unable to apply caps"), the
  // container gets what privileged gives that dockerd needs: every capability it has, no
  // seccomp, AppArmor or masked /proc paths, and the cgroup hierarchies writable.
  // Its own network namespace (a Pod's); the registry is forwarded onto its loopback below.
  const create = (privileged: boolean) =>
    docker.createContainer({
      Image: image,
      Entrypoint: CHART_COMMAND,
      Cmd: CHART_ARGS,
      Env: CHART_ENV,
      HostConfig: {
        NetworkMode: 'none',
        Binds: [
          `${dataRoot}:/var/lib/docker`,
          `${socketDir}:/run/slipway-dind`,
          ...(privileged ? [] : ['/sys/fs/cgroup:/sys/fs/cgroup']),
        ],
        ...(privileged
          ? { Privileged: true }
          : {
              CapAdd: ['ALL'],
              CapDrop: ['SYS_RESOURCE'],
              SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
              // --security-opt systempaths=unconfined
              MaskedPaths: [],
              ReadonlyPaths: [],
            }),
      },
    });
  let dind = await create(true);
  t.teardown(() => dind.remove({ force: true }).catch(() => {}));
  try {
    await dind.start();
  } catch (err) {
    if (!/unable to apply caps/.test((err as Error).message)) throw err;
    t.log('privileged containers cannot start on this dockerd: running with every capability but CAP_SYS_RESOURCE');
    await dind.remove({ force: true });
    dind = await create(false);
    await dind.start();
  }
  const logs = async () => demux((await dind.logs({ stdout: true, stderr: true })) as unknown as Buffer);

  // The chart's readiness probe.
  await eventually(
    'the readiness probe (docker version) to succeed',
    async () => (await exec(dind, ['docker', '-H', 'unix:///run/slipway-dind/docker.sock', 'version'])).exitCode === 0,
    { timeoutMs: 60_000, intervalMs: 500, detail: logs },
  );

  // Inside its namespace 127.0.0.1 is its own loopback: the registry is brought there.
  await forwardIntoNetns(t, (await dind.inspect()).State.Pid, env.registry, dir);

  // The socket the agent shares, owned by its group.
  t.is((await stat(path.join(socketDir, 'docker.sock'))).gid, 65532);

  // The image's own CLI on that socket: pull, build both ways, push.
  const cli = async (script: string) => {
    const r = await exec(dind, ['sh', '-c', `export DOCKER_HOST=unix:///run/slipway-dind/docker.sock\n${script}`]);
    t.is(r.exitCode, 0, `${script}\n${r.output}`);
    return r.output;
  };
  await cli(`docker pull ${env.baseImage}`);
  await cli(`mkdir -p /context && printf 'FROM ${env.baseImage}\\nRUN echo hi > /x\\n' > /context/Dockerfile`);
  const tag = randomBytes(4).toString('hex');
  for (const [builder, buildkit] of [
    ['buildkit', '1'],
    ['classic', '0'],
  ] as const) {
    const ref = `${env.registry}/test/dind-local-${builder}:${tag}`;
    await cli(`DOCKER_BUILDKIT=${buildkit} docker build -t ${ref} /context`);
    t.is((await cli(`docker run --rm ${ref} cat /x`)).trim(), 'hi', builder);
    await cli(`docker push ${ref}`);
    t.truthy(await registryDigest(`test/dind-local-${builder}`, tag), `${builder}: pushed`);
  }
});
