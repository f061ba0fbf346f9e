import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import Docker from 'dockerode';
import { agentConfigFromEnv, resolveAgentConfig } from '../agent/config.js';
import { DockerRuntime } from '../agent/container-runtime/docker-runtime.js';
import type { BuildEvent } from '../agent/container-runtime/types.js';
import { DindExecutor } from '../agent/executors/dind-executor.js';
import type { ExecutorLease } from '../agent/executors/executor.js';
import { remapRanges } from '../agent/executors/userns-remap.js';
import { silentLogger } from '../common/log.js';
import { demux, environmentDocker, pullAndRun } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { eventually } from './helpers/eventually.js';
import { startGitServer } from './helpers/git-server.js';
import { startPrivateDaemon } from './helpers/private-daemon.js';
import { tempDir } from './helpers/processes.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { processesRunning, uniqueSleep, untilStepStopped } from './helpers/step-processes.js';

// Issue #23, part 1: the dind executor's builds are not root on the node. The mode is the agent's
// own setting as this process's environment gives it (default `remap`): run the file with
// SLIPWAY_DIND_USERNS=off and every test here fails, which is what it shows.

const unique = () => randomBytes(4).toString('hex');
const USERNS = resolveAgentConfig(agentConfigFromEnv(process.env)).dindUserns;

/** A dind executor (per agent: one daemon) in a short folder; closed and removed when the test ends. */
async function dindLease(t: ExecutionContext): Promise<{ lease: ExecutorLease; docker: Docker; root: string }> {
  const root = `/tmp/sw-userns-${unique()}`;
  await mkdir(root);
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const executor = new DindExecutor({
    mode: 'per-agent',
    dockerd: 'dockerd',
    rootParent: root,
    registryMirrors: [],
    startTimeoutMs: 60_000,
    userns: USERNS,
    log: silentLogger,
  });
  t.teardown(() => executor.close());
  const lease = await executor.acquire(AbortSignal.timeout(60_000));
  const [folder] = (await readdir(root)).filter((e) => e.startsWith('sw-'));
  return { lease, docker: new Docker({ socketPath: path.join(root, folder!, 'docker.sock') }), root };
}

/** Builds `dockerfile` on the lease; the build's output and its error (if it failed). */
async function build(
  t: ExecutionContext,
  lease: ExecutorLease,
  dockerfile: string,
  signal?: AbortSignal,
): Promise<{ output: string; error?: string }> {
  const contextDir = await tempDir(t, 'slipway-userns-');
  await writeFile(path.join(contextDir, 'Dockerfile'), dockerfile);
  let output = '';
  let error: string | undefined;
  const events: AsyncIterable<BuildEvent> = lease.runtime.buildImage({
    contextDir,
    dockerfile: 'Dockerfile',
    tag: `userns-${unique()}`,
    buildArgs: {},
    labels: {},
    noCache: true,
    signal,
  });
  try {
    for await (const e of events) {
      if (e.kind === 'lines') output += e.lines.join('\n') + '\n';
      else if (e.kind === 'output') output += e.text;
      else if (e.kind === 'error') error = e.message;
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
  return { output, error };
}

/** A field of /proc/<pid>/status as numbers ("Uid:\t100000\t100000\t100000\t100000"). */
async function statusIds(pid: number, field: 'Uid' | 'Gid'): Promise<number[]> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`));
  return (line ?? '').split(/\s+/).slice(1).filter(Boolean).map(Number);
}

test.serial(
  "a RUN step's process, seen from the node, is not root: its ids are in dockremap's subordinate range",
  async (t) => {
    const env = testEnvironment();
    const { lease } = await dindLease(t);
    const ranges = await remapRanges();
    t.truthy(ranges, 'the node has a dockremap user with ranges in /etc/subuid and /etc/subgid (made by dockerd)');
    const sleep = uniqueSleep();
    t.teardown(async () => {
      for (const pid of await processesRunning(sleep)) process.kill(pid, 'SIGKILL');
    });
    const stop = new AbortController();
    const running = build(t, lease, `FROM ${env.baseImage}\nRUN id && ${sleep.join(' ')}\n`, stop.signal);
    const [pid] = await eventually(
      `the step's ${sleep.join(' ')} to run`,
      async () => {
        const pids = await processesRunning(sleep);
        return pids.length > 0 ? pids : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const uids = await statusIds(pid!, 'Uid');
    const gids = await statusIds(pid!, 'Gid');
    const uidMap = (await readFile(`/proc/${pid}/uid_map`, 'utf8')).trim();
    t.log(`the step's process ${pid}: Uid ${uids.join(' ')}, Gid ${gids.join(' ')}, uid_map "${uidMap}"`);
    t.is(uids.length, 4);
    for (const uid of uids) {
      t.not(uid, 0, "no uid of the step (real, effective, saved, filesystem) is the node's root");
      if (ranges) t.true(uid >= ranges.uid.start && uid < ranges.uid.start + ranges.uid.count, `uid ${uid} in range`);
    }
    for (const gid of gids)
      if (ranges) t.true(gid >= ranges.gid.start && gid < ranges.gid.start + ranges.gid.count, `gid ${gid} in range`);
    // Inside, the step is root of its own namespace, mapped onto the range.
    t.regex(uidMap, /^0\s+\d+\s+\d+$/);
    t.not(uidMap.split(/\s+/)[1], '0');

    stop.abort();
    await running;
    await untilStepStopped(sleep, 30_000);
  },
);

test.serial('a RUN step cannot make a device node and use it (mknod is root on the node)', async (t) => {
  const env = testEnvironment();
  const { lease } = await dindLease(t);
  // A character device of the node's (1:3, /dev/null: the device cgroup lets a container use
  // it) and a block device (7:0, a loop device): as the node's root mknod makes both.
  const r = await build(
    t,
    lease,
    `FROM ${env.baseImage}\nRUN mknod /tmp/null c 1 3 && echo written > /tmp/null && mknod /tmp/loop b 7 0 && echo MADE-DEVICES\n`,
  );
  t.log(
    r.output
      .split('\n')
      .filter((l) => /mknod|MADE|permitted/.test(l))
      .join('\n'),
  );
  t.truthy(r.error, 'the build fails');
  t.regex(r.output, /mknod: \/tmp\/null: Operation not permitted/);
  t.notRegex(r.output, /^#\d+ [\d.]+ MADE-DEVICES$/m);
});

test.serial(
  'a container on the private daemon cannot write to a root-owned folder of the node bind-mounted into it',
  async (t) => {
    // Builds get no bind mounts of the node's paths (their context goes over the API, and
    // Source-to-Image copies it in): this is a hostile container run on the daemon directly,
    // as a config would if it could ask for a mount.
    const env = testEnvironment();
    const { docker } = await dindLease(t);
    const hostDir = await tempDir(t, 'slipway-userns-host-');
    await chmod(hostDir, 0o755);
    const target = path.join(hostDir, 'owned');
    const pull = await docker.pull(env.baseImage);
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(pull, (err) => (err ? reject(err) : resolve(undefined))),
    );
    const container = await docker.createContainer({
      Image: env.baseImage,
      Cmd: ['sh', '-c', 'echo pwned > /host/owned'],
      HostConfig: { NetworkMode: 'none', Binds: [`${hostDir}:/host`] },
    });
    t.teardown(() => container.remove({ force: true }).catch(() => {}));
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = demux((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    t.log(`exit ${StatusCode}: ${logs.trim()}`);
    t.not(StatusCode, 0, 'the write fails');
    t.regex(logs, /Permission denied/);
    await t.throwsAsync(stat(target), { code: 'ENOENT' }, 'nothing was written on the node');
  },
);

test.serial(
  "Source-to-Image on a dind agent: assemble runs as root of the build's own namespace, not the node's, and the build completes",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const dindRoot = `/tmp/sw-userns-${unique()}`;
    t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
    await addAgent(t, sw, { settings: { executor: 'dind', dindMode: 'per-agent', dindRoot, dindUserns: USERNS } });
    const id = unique();
    // The builder, made on the same agent with the Dockerfile strategy; assemble copies the
    // source in (Source-to-Image puts it into the container: no bind mount of the node's).
    const builderRepo = await git.createRepo('builder', {
      Dockerfile: `FROM ${env.baseImage}\nCOPY s2i/ /usr/libexec/s2i/\nRUN ls -ln /usr/libexec/s2i/ && chmod +x /usr/libexec/s2i/*\nLABEL io.openshift.s2i.scripts-url=image:///usr/libexec/s2i\n`,
      's2i/assemble': `#!/bin/sh\nset -e\necho "assemble uid $(id -u), uid_map $(cat /proc/self/uid_map)"\nmkdir -p /app && cp -r /tmp/src/. /app/\n`,
      's2i/run': '#!/bin/sh\ncat /app/message\n',
    });
    const builder = `${env.registry}/test/userns-s2i-builder-${id}:latest`;
    await sw.client.createBuildConfig(dockerBuildConfig('builder', builderRepo.uri, builder));
    await sw.client.startBuild({ namespace: 'default', configName: 'builder' });
    const made = await sw.client.waitForBuild('default', 'builder-1');
    if (made.status!.phase !== 'Complete') {
      for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'builder-1' })) t.log(l.text);
    }
    t.is(made.status!.phase, 'Complete', made.status!.message);

    const message = `userns s2i ${id}`;
    const appRepo = await git.createRepo('app', { message: `${message}\n` });
    const image = `${env.registry}/test/userns-s2i-app-${id}`;
    await sw.client.createBuildConfig({
      metadata: { name: 'app' },
      spec: {
        source: { git: { uri: appRepo.uri, ref: 'main' } },
        strategy: { source: { builderImage: builder } },
        output: { image: `${image}:latest` },
      },
    });
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    const app = await sw.client.waitForBuild('default', 'app-1');
    t.is(app.status!.phase, 'Complete', app.status!.message);
    const lines: string[] = [];
    for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'app-1' })) lines.push(l.text);
    const said = lines.find((l) => l.startsWith('assemble uid '));
    t.log(said);
    const m = /^assemble uid (\d+), uid_map\s+(\d+)\s+(\d+)\s+(\d+)/.exec(said ?? '');
    t.truthy(m, lines.join('\n'));
    t.is(m?.[1], '0', 'root inside');
    t.not(m?.[3], '0', "uid 0 inside is not the node's uid 0");
    t.is((await pullAndRun(environmentDocker(), `${image}@${app.status!.output!.digest}`)).trim(), message);
  },
);

test.serial(
  "on a remapped daemon the agent does not run (the chart's sidecar, through the host executor), the context's files are root's in the build",
  async (t) => {
    const env = testEnvironment();
    const daemon = await startPrivateDaemon(t, 'remap');
    const runtime = new DockerRuntime(daemon.dockerHost);
    const contextDir = await tempDir(t, 'slipway-userns-copy-');
    await writeFile(
      path.join(contextDir, 'Dockerfile'),
      `FROM ${env.baseImage}\nCOPY script /script\nRUN ls -ln /script && chmod +x /script\n`,
    );
    await writeFile(path.join(contextDir, 'script'), '#!/bin/sh\n');
    let output = '';
    let error: string | undefined;
    for await (const e of runtime.buildImage({
      contextDir,
      dockerfile: 'Dockerfile',
      tag: `userns-copy-${unique()}`,
      buildArgs: {},
      labels: {},
      noCache: true,
    })) {
      if (e.kind === 'lines') output += e.lines.join('\n') + '\n';
      else if (e.kind === 'error') error = e.message;
    }
    t.is(error, undefined, output);
    t.regex(output, /-rw-r--r-- +1 0 +0 /, 'owned by root inside');
  },
);

test.serial(
  'an agent opens its dind root, made 0700 (as mkdtemp makes them), to 0711: passable for the remapped root, not listable',
  async (t) => {
    const sw = await startSlipway(t, { agents: 0 });
    const own = await tempDir(t, 'slipway-dind-');
    await addAgent(t, sw, { settings: { executor: 'dind', dindRoot: own } });
    t.is((await stat(own)).mode & 0o777, 0o711);
  },
);
