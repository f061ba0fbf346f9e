import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import test, { type ExecutionContext } from 'ava';
import { environmentDocker, pullAndRun } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { processesRunning, uniqueSleep, untilStepRuns, untilStepStopped } from './helpers/step-processes.js';

const unique = () => randomBytes(4).toString('hex');

/** A short folder for the test's private daemons, removed when the test ends. */
function dindRootFor(t: ExecutionContext): string {
  const dir = `/tmp/sw-dind-${unique()}`;
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Processes whose command line mentions `text`. */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

test.serial(
  "the same build through the node's daemon and a per-build private daemon: same result, nothing of the private one left",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const dindRoot = dindRootFor(t);
    const word = `same-${unique()}`;
    const repo = await git.createRepo('twice', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo ${word} > /w\nCMD ["cat", "/w"]\n`,
    });
    const images = { host: `${env.registry}/test/host-${unique()}`, dind: `${env.registry}/test/dind-${unique()}` };

    // One executor at a time, so each build certainly runs where it should.
    for (const executor of ['host', 'dind'] as const) {
      const agent = await addAgent(t, sw, { settings: { executor, dindMode: 'per-build', dindRoot } });
      await sw.client.createBuildConfig(dockerBuildConfig(executor, repo.uri, `${images[executor]}:v1`));
      await sw.client.startBuild({ namespace: 'default', configName: executor });
      const final = await sw.client.waitForBuild('default', `${executor}-1`);
      t.is(final.status!.phase, 'Complete', `${executor}: ${final.status!.message}`);
      t.is(
        (await pullAndRun(environmentDocker(), `${images[executor]}@${final.status!.output!.digest}`)).trim(),
        word,
        executor,
      );
      await agent.stop();
    }
    t.deepEqual(
      (await readdir(dindRoot)).filter((e) => e.startsWith('sw-')),
      [],
      'no private daemon folder (data root, socket) is left',
    );
    t.deepEqual(await processesMentioning(dindRoot), [], 'no private daemon process is left');
  },
);

test.serial('dind: a step past the memory limit fails OutOfMemory', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t, { agents: 0 });
  await addAgent(t, sw, { settings: { executor: 'dind', dindMode: 'per-build', dindRoot: dindRootFor(t) } });
  const repo = await git.createRepo('hungry', {
    Dockerfile: `FROM ${env.baseImage}\nRUN dd if=/dev/zero of=/dev/null bs=200M count=1\n`,
  });
  const config = dockerBuildConfig('hungry', repo.uri, `${env.registry}/test/hungry-${unique()}:v1`);
  config.spec!.resources = { memory: '64Mi' };
  await sw.client.createBuildConfig(config);
  await sw.client.startBuild({ namespace: 'default', configName: 'hungry' });
  const final = await sw.client.waitForBuild('default', 'hungry-1');
  t.is(final.status!.reason, 'OutOfMemory', final.status!.message);
});

test.serial(
  'dind per agent: the daemon killed mid-build fails that build clearly, is restarted, and the next build completes',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const dindRoot = dindRootFor(t);
    await addAgent(t, sw, { settings: { executor: 'dind', dindMode: 'per-agent', dindRoot } });
    const marker = `started-${unique()}`;
    const sleep = uniqueSleep();
    const slow = await git.createRepo('slow', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo ${marker} && ${sleep.join(' ')}\n`,
    });
    // Should the step outlive its daemon (the check below fails then), it must not run for hours.
    t.teardown(async () => {
      for (const pid of await processesRunning(sleep)) process.kill(pid, 'SIGKILL');
    });
    const quick = await git.createRepo('quick', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} > /q\n` });
    await sw.client.createBuildConfig(dockerBuildConfig('slow', slow.uri, `${env.registry}/test/slow-${unique()}:v1`));
    await sw.client.createBuildConfig(
      dockerBuildConfig('quick', quick.uri, `${env.registry}/test/quick-${unique()}:v1`),
    );

    await sw.client.startBuild({ namespace: 'default', configName: 'slow' });
    await untilStepRuns(sw.client, 'slow-1', marker, sleep);
    const daemons = async () => {
      const pids = [];
      for (const pid of await processesMentioning(dindRoot)) {
        if ((await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).startsWith('dockerd')) pids.push(pid);
      }
      return pids;
    };
    const [daemon] = await daemons();
    t.truthy(daemon, `a private dockerd runs under ${dindRoot}`);
    process.kill(daemon!, 'SIGKILL');

    const failed = await sw.client.waitForBuild('default', 'slow-1', AbortSignal.timeout(30_000));
    t.is(failed.status!.phase, 'Error');
    t.is(failed.status!.reason, 'ExecutorUnavailable');
    t.regex(failed.status!.message, /private Docker daemon died/);
    // The step (a BuildKit step: run by the daemon's own runc, no container) outlives a killed
    // daemon as an orphan: the clean-up of the dead daemon must end it too.
    await untilStepStopped(sleep);

    await sw.client.startBuild({ namespace: 'default', configName: 'quick' });
    const next = await sw.client.waitForBuild('default', 'quick-1', AbortSignal.timeout(60_000));
    t.is(next.status!.phase, 'Complete', next.status!.message);
    const now = await daemons();
    t.is(now.length, 1);
    t.not(now[0], daemon);
    // Nothing of the killed daemon lives on (its containerd, shims, containers): every process
    // under the dind folder belongs to the one daemon running now.
    const roots = new Set<string>();
    for (const pid of await processesMentioning(dindRoot)) {
      const m = /\/sw-[A-Za-z0-9]+/.exec(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''));
      if (m) roots.add(m[0]);
    }
    t.is(roots.size, 1, [...roots].join(', '));
  },
);
