import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { PrivateDaemon, removeLeftoverDaemons } from '../agent/executors/private-daemon.js';
import { RootlessDaemonUnavailableError, rootlessUser } from '../agent/executors/rootless-daemon.js';
import { silentLogger } from '../common/log.js';
import { environmentDocker, pullAndRun } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { eventually } from './helpers/eventually.js';
import { startGitServer } from './helpers/git-server.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { tempDir } from './helpers/processes.js';
import { processesRunning, untilStepRuns } from './helpers/step-processes.js';

// Issue #23, part 1, must-show 2: with SLIPWAY_DIND_USERNS=rootless the dind executor's private
// daemon runs under rootlesskit as an unprivileged user (slipway-rootless here, made by
// scripts/devenv with ranges in /etc/subuid and /etc/subgid): nothing of the build's process tree
// is root on the node, and a Dockerfile build with a RUN step still builds and pushes.

const unique = () => randomBytes(4).toString('hex');
const USER = 'slipway-rootless';

/** A process's parent, from /proc/<pid>/stat (the field after the command, which may hold spaces). */
async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** The real, effective, saved and filesystem uids of a process (its status's Uid line). */
async function uidsOf(pid: number): Promise<number[]> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('Uid:'));
  return (line ?? '').split(/\s+/).slice(1).filter(Boolean).map(Number);
}

const commandOf = async (pid: number) =>
  (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);

/** Every process below `pid` (children, theirs, and so on), read from /proc. */
async function descendantsOf(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const e of await readdir('/proc'))
    if (/^\d+$/.test(e)) parents.set(Number(e), (await parentOf(Number(e))) ?? -1);
  const found = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, pp] of parents)
      if (!found.has(p) && found.has(pp)) {
        found.add(p);
        grew = true;
      }
  }
  found.delete(pid);
  return [...found];
}

test.serial(
  "rootless: a Dockerfile build's RUN step, dockerd and containerd are not root on the node, the image is pushed, and builds that must be unprivileged run there",
  async (t) => {
    const env = testEnvironment();
    const user = await rootlessUser(USER);
    if (typeof user === 'string')
      return t.fail(`this node cannot run the test: ${user} (scripts/devenv makes the user)`);
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const dindRoot = `/tmp/sw-rootless-${unique()}`;
    t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
    await addAgent(t, sw, {
      settings: { executor: 'dind', dindMode: 'per-agent', dindRoot, dindUserns: 'rootless', dindRootlessUser: USER },
    });

    const id = unique();
    const marker = `rootless-step-${id}`;
    const sleep = ['sleep', String(60_000 + Math.floor(Math.random() * 40_000))];
    // The sleep is killed from the node once its ids are read; the step then goes on and ends.
    const repo = await git.createRepo('app', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo ${marker} && (${sleep.join(' ')} || true) && id -u > /built-by\nCMD ["cat", "/built-by"]\n`,
    });
    const image = `${env.registry}/test/rootless-${id}`;
    // A config that asks for unprivileged builds: the rootless agent, the only one, takes it.
    const config = dockerBuildConfig('app', repo.uri, `${image}:latest`);
    config.spec!.security = { unprivileged: true };
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'app' });
    t.teardown(async () => {
      for (const pid of await processesRunning(sleep)) process.kill(pid, 'SIGKILL');
    });
    const [step] = await untilStepRuns(sw.client, 'app-1', marker, sleep);

    // Up from the step to the rootlesskit the agent started: every process on the way, and
    // every process under that rootlesskit (dockerd, containerd, BuildKit's runc, the step), is
    // the unprivileged user or its subordinate range: no uid of any is 0.
    const chain: number[] = [];
    let kit: number | undefined;
    for (let p: number | undefined = step; p && p > 1; p = await parentOf(p)) {
      const cmd = await commandOf(p);
      if (cmd[0]?.endsWith('rootlesskit')) {
        kit = p;
        break;
      }
      chain.push(p);
    }
    t.truthy(kit, `the step ${step} runs under a rootlesskit (its ancestors: ${chain.join(', ')})`);
    const tree = [kit!, ...(await descendantsOf(kit!))];
    const named: Record<string, number[]> = {};
    for (const pid of tree) {
      const cmd = await commandOf(pid);
      const uids = await uidsOf(pid).catch(() => undefined);
      if (!uids) continue; // gone meanwhile
      const name = cmd[0]?.split('/').pop() ?? '?';
      t.log(`${pid} ${name}: Uid ${uids.join(' ')}`);
      (named[name] ??= []).push(pid);
      t.is(uids.length, 4);
      for (const uid of uids) t.not(uid, 0, `${name} (${pid}) has no uid 0 (real, effective, saved, filesystem)`);
    }
    t.truthy(named.dockerd, 'dockerd is in the tree');
    t.truthy(named.containerd, 'containerd is in the tree');
    t.true(tree.includes(step!), 'the step is in the tree');
    // Root inside the step is the daemon's user on the node; its other ids the user's range.
    t.deepEqual(await uidsOf(step!), [user.uid, user.uid, user.uid, user.uid]);
    const map = (await readFile(`/proc/${step}/uid_map`, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    t.deepEqual(map, [
      [0, user.uid, 1],
      [1, user.subuid.start, user.subuid.count],
    ]);

    for (const pid of await processesRunning(sleep)) process.kill(pid, 'SIGKILL');
    const done = await sw.client.waitForBuild('default', 'app-1');
    if (done.status!.phase !== 'Complete')
      for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'app-1' })) t.log(l.text);
    t.is(done.status!.phase, 'Complete', done.status!.message);
    // Pulled back from the registry by its digest, through the node's own daemon.
    const ran = await pullAndRun(environmentDocker(), `${image}@${done.status!.output!.digest}`);
    t.is(ran.trim(), '0', 'root inside the build');
  },
);

test.serial('rootless: a user without subordinate ranges is refused, naming the user and the file', async (t) => {
  const parent = `/tmp/sw-rootless-${unique()}`;
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const err = await t.throwsAsync(
    PrivateDaemon.start({
      dockerd: 'dockerd',
      rootParent: parent,
      registryMirrors: [],
      startTimeoutMs: 60_000,
      userns: 'rootless',
      // On every Debian: a system user with no ranges.
      rootlessUser: 'nobody',
      log: silentLogger,
    }),
    { instanceOf: RootlessDaemonUnavailableError },
  );
  t.is(err?.reason, 'RootlessDaemonUnavailable');
  t.regex(err?.message ?? '', /the user nobody has no range in \/etc\/subuid/);
});

test.serial(
  'rootless: a Dockerfile build with resources is not placed on a rootless agent (its daemons are held to no cgroup) and waits NoMatchingAgent',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const dindRoot = `/tmp/sw-rootless-${unique()}`;
    t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
    await addAgent(t, sw, {
      settings: { executor: 'dind', dindMode: 'per-build', dindRoot, dindUserns: 'rootless', dindRootlessUser: USER },
    });
    const repo = await git.createRepo('limited', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()}\n` });
    const config = dockerBuildConfig('limited', repo.uri, `${env.registry}/test/rootless-limited-${unique()}:v1`);
    config.spec!.resources = { memory: '64Mi' };
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'limited' });
    const waiting = await eventually('the build to wait NoMatchingAgent', async () => {
      const b = await sw.client.getBuild('default', 'limited-1');
      return b.status!.reason === 'NoMatchingAgent' && b;
    });
    t.is(waiting.status!.phase, 'Pending');
    t.regex(waiting.status!.message, /none can hold a Dockerfile build to its resources \(memory 64Mi\)/);
    // And should one reach it all the same, the daemon refuses to run it unlimited.
    const err = await t.throwsAsync(
      PrivateDaemon.start(
        {
          dockerd: 'dockerd',
          rootParent: dindRoot,
          registryMirrors: [],
          startTimeoutMs: 60_000,
          userns: 'rootless',
          rootlessUser: USER,
          log: silentLogger,
        },
        undefined,
        { memoryBytes: 64 * 1024 * 1024 },
      ),
      { instanceOf: RootlessDaemonUnavailableError },
    );
    t.regex(err?.message ?? '', /resource limits/);
  },
);

test.serial(
  'rootless, agent not root: its own daemon builds, and stopping it removes files the build left owned by its subordinate ids',
  async (t) => {
    const env = testEnvironment();
    const user = await rootlessUser(USER);
    if (typeof user === 'string')
      return t.fail(`this node cannot run the test: ${user} (scripts/devenv makes the user)`);
    // The agent's side, run as the user: the dind executor's private daemon, one build whose RUN
    // step leaves a file owned by uid 1234 inside (the user's range outside), then stop.
    const dist = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
    const dir = await tempDir(t, 'slipway-rootless-user-');
    await chmod(dir, 0o755);
    const parent = path.join(dir, 'dind');
    await mkdir(parent);
    await chmod(parent, 0o777);
    // Should the agent's side die before it stops its daemon, that daemon goes with the test.
    t.teardown(() => removeLeftoverDaemons(parent, silentLogger).then(() => {}));
    const script = path.join(dir, 'agent-side.mjs');
    await writeFile(
      script,
      `import { mkdtemp, writeFile, access, rm } from 'node:fs/promises';
import { PrivateDaemon } from '${dist}/agent/executors/private-daemon.js';
import { silentLogger } from '${dist}/common/log.js';
const d = await PrivateDaemon.start({ dockerd: 'dockerd', rootParent: ${JSON.stringify(parent)}, registryMirrors: [], startTimeoutMs: 60000, userns: 'rootless', log: silentLogger });
console.log('daemon-uid ' + (await import('node:fs')).statSync('/proc/' + d.pid).uid);
try {
  const ctx = await mkdtemp('/tmp/sw-ctx-');
  await writeFile(ctx + '/Dockerfile', 'FROM ${env.baseImage}\\nRUN mkdir /owned && echo x > /owned/f && chown -R 1234:1234 /owned && ls -ln /owned\\n');
  let error;
  for await (const e of d.runtime.buildImage({ contextDir: ctx, dockerfile: 'Dockerfile', tag: 'rootless-user-${unique()}', buildArgs: {}, labels: {}, noCache: true })) {
    if (e.kind === 'lines') console.log(e.lines.join('\\n'));
    else if (e.kind === 'error') error = e.message;
  }
  if (error) console.log('build-error ' + error);
  await rm(ctx, { recursive: true, force: true });
} finally {
  await d.stop();
}
console.log('folder-left ' + (await access(d.root).then(() => 'yes', () => 'no')));
`,
    );
    let output = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [script], { uid: user.uid, gid: user.gid, cwd: dir, env: process.env });
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.once('error', reject).once('exit', resolve);
    });
    t.log(
      output
        .split('\n')
        .filter((l) => /daemon-uid|1234|build-error|folder-left|Error/.test(l))
        .join('\n'),
    );
    t.is(code, 0, output);
    t.regex(output, new RegExp(`^daemon-uid ${user.uid}$`, 'm'), 'the daemon runs as the user');
    t.regex(output, /1234 +1234 .* f$/m, "the step's file is owned by 1234 inside");
    t.notRegex(output, /build-error/);
    t.regex(output, /^folder-left no$/m, "the daemon's folder is gone, subordinate-owned layers too");
    t.deepEqual(await readdir(parent), []);
  },
);
