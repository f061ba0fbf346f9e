import { randomBytes } from 'node:crypto';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { LABELS } from '../agent/build-runner.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/processes.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/service-processes.js';
import { startNatsServer } from './helpers/nats-server.js';
import { SlipwayClient } from '../cli/client.js';
import { dockerBuildConfig } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

async function setUp(t: ExecutionContext) {
  const nats = await startNatsServer(t);
  const port = await freePort();
  const coordinator = await startCoordinatorProcess(t, { natsUrl: nats.url, port });
  const client = new SlipwayClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const work = await tempDir(t, 'slipway-agents-');
  const agent = (name: string, drainTimeoutMs = 0) =>
    startAgentProcess(t, {
      natsUrl: nats.url,
      coordinator: `127.0.0.1:${port}`,
      name,
      workDir: path.join(work, name),
      drainTimeoutMs,
    });
  return { nats, port, coordinator, client, agent };
}

async function waitForPhase(client: SlipwayClient, name: string, phase: string) {
  for await (const b of client.watchBuild('default', name)) if (b.status!.phase === phase) return b;
  throw new Error(`build ${name} ended without reaching ${phase}`);
}

test.serial('the only agent killed mid-build: the build ends Error / AgentLost', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const { client, agent } = await setUp(t);
  const a = await agent(`agent-a-${unique()}`);
  const repo = await git.createRepo('doomed', {
    Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} && sleep 30\n`,
  });
  await client.createBuildConfig(dockerBuildConfig('doomed', repo.uri, `${env.registry}/test/doomed-${unique()}:v1`));
  await client.startBuild({ namespace: 'default', configName: 'doomed' });
  await waitForPhase(client, 'doomed-1', 'Running');
  a.signal('SIGKILL');
  const final = await client.waitForBuild('default', 'doomed-1', AbortSignal.timeout(20_000));
  t.is(final.status!.phase, 'Error');
  t.is(final.status!.reason, 'AgentLost');
  t.regex(final.status!.message, /stopped heartbeating/);
});

test.serial(
  "with a retry, a lost attempt runs again on another agent; the first agent's late report is refused",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const { client, agent } = await setUp(t);
    const a = await agent(`agent-a-${unique()}`);
    const repo = await git.createRepo('retried', {
      Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N && sleep 4\n`,
    });
    const config = dockerBuildConfig('retried', repo.uri, `${env.registry}/test/retried-${unique()}:v1`, {
      buildArgs: [{ name: 'N', value: unique() }],
    });
    config.spec!.retries = 1;
    await client.createBuildConfig(config);
    await client.startBuild({ namespace: 'default', configName: 'retried' });
    const running = await waitForPhase(client, 'retried-1', 'Running');
    t.is(running.status!.agent, String(a.logs().find((l) => l.msg === 'agent started')!.agent));
    await a.waitForLog((l) => l.msg === 'build started' && l.attempt === 1);

    // Agent a freezes past its lease; agent b is there to take the next attempt.
    a.signal('SIGSTOP');
    const b = await agent(`agent-b-${unique()}`);
    const final = await client.waitForBuild('default', 'retried-1', AbortSignal.timeout(40_000));
    t.is(final.status!.phase, 'Complete', final.status!.message);
    t.is(final.status!.attempt, 2);
    t.is(final.status!.agent, String(b.logs().find((l) => l.msg === 'agent started')!.agent));

    // Agent a wakes up, finishes or is told to stop attempt 1, and its report is refused.
    a.signal('SIGCONT');
    const refused = await a.waitForLog((l) => l.msg === 'outcome refused: this attempt is no longer ours', 30_000);
    t.is(refused.refusal, 'StaleAttempt');
    t.is(refused.attempt, 1);
    const after = await client.getBuild('default', 'retried-1');
    t.is(after.status!.phase, 'Complete');
    t.is(after.status!.output!.digest, final.status!.output!.digest);
  },
);

test.serial(
  'a coordinator that stood still past the grace (SIGSTOP) loses no build for it: heartbeats it could not read are not silence',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const { client, agent, coordinator } = await setUp(t);
    const a = await agent(`agent-s-${unique()}`);
    const repo = await git.createRepo('stalled', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} && sleep 10\n`,
    });
    await client.createBuildConfig(
      dockerBuildConfig('stalled', repo.uri, `${env.registry}/test/stalled-${unique()}:v1`),
    );
    await client.startBuild({ namespace: 'default', configName: 'stalled' });
    await waitForPhase(client, 'stalled-1', 'Running');
    await a.waitForLog((l) => l.msg === 'build started');

    // The coordinator stands still for twice its grace (3 s here); the agent heartbeats all along.
    coordinator.signal('SIGSTOP');
    await new Promise((r) => setTimeout(r, 6000));
    coordinator.signal('SIGCONT');

    const final = await client.waitForBuild('default', 'stalled-1', AbortSignal.timeout(60_000));
    t.is(final.status!.phase, 'Complete', final.status!.message);
    t.is(final.status!.attempt, 1);
    const stall = await coordinator.waitForLog(
      (l) => l.msg === 'this process stood still; agent leases restart their grace',
    );
    t.true(Number(stall.stalledMs) >= 4000, `the stall it saw: ${String(stall.stalledMs)} ms`);
  },
);

test.serial('a restarted agent removes what its earlier run left, and nothing else', async (t) => {
  const env = testEnvironment();
  const { agent } = await setUp(t);
  const docker = environmentDocker();
  const name = `agent-r-${unique()}`;
  const leftover = await docker.createContainer({
    Image: env.baseImage,
    Cmd: ['true'],
    Labels: { [LABELS.agent]: name, [LABELS.build]: 'x-1' },
  });
  const someoneElses = await docker.createContainer({
    Image: env.baseImage,
    Cmd: ['true'],
    Labels: { [LABELS.agent]: `other-${unique()}` },
  });
  const unlabelled = await docker.createContainer({ Image: env.baseImage, Cmd: ['true'] });
  t.teardown(() =>
    Promise.all([someoneElses, unlabelled, leftover].map((c) => c.remove({ force: true }).catch(() => {}))),
  );

  const a = await agent(name);
  await a.waitForLog((l) => l.msg === 'removed what an earlier run left');
  const exists = (id: string) =>
    docker
      .getContainer(id)
      .inspect()
      .then(
        () => true,
        () => false,
      );
  t.false(await exists(leftover.id));
  t.true(await exists(someoneElses.id));
  t.true(await exists(unlabelled.id));
});

test.serial('SIGTERM drains: a running build finishes within the drain time, then the agent exits', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const { client, agent } = await setUp(t);
  const a = await agent(`agent-d-${unique()}`, 30_000);
  const repo = await git.createRepo('drained', {
    Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} && sleep 3\n`,
  });
  await client.createBuildConfig(dockerBuildConfig('drained', repo.uri, `${env.registry}/test/drained-${unique()}:v1`));
  await client.startBuild({ namespace: 'default', configName: 'drained' });
  await a.waitForLog((l) => l.msg === 'build started');
  a.signal('SIGTERM');
  await a.exited();
  const final = await client.getBuild('default', 'drained-1');
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.truthy(a.logs().find((l) => l.msg === 'agent stopped'));
});

test.serial('SIGTERM past the drain time stops the build and reports it; a retry runs it elsewhere', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const { client, agent } = await setUp(t);
  const aName = `agent-s-${unique()}`;
  const a = await agent(aName, 500);
  const repo = await git.createRepo('moved', { Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N && sleep 5\n` });
  const config = dockerBuildConfig('moved', repo.uri, `${env.registry}/test/moved-${unique()}:v1`, {
    buildArgs: [{ name: 'N', value: unique() }],
  });
  config.spec!.retries = 1;
  await client.createBuildConfig(config);
  await client.startBuild({ namespace: 'default', configName: 'moved' });
  await a.waitForLog((l) => l.msg === 'build started');
  a.signal('SIGTERM');
  await a.exited();
  // Its report was accepted: the build went back to Pending for attempt 2, nothing was lost.
  const accepted = a.logs().find((l) => l.msg === 'outcome accepted');
  t.is(accepted?.phase, 'Pending');
  const waiting = await client.getBuild('default', 'moved-1');
  t.is(waiting.status!.attempt, 2);
  // Attempt 1 is recorded lost to the shutdown (status.reason says why attempt 2 waits now:
  // placement's AgentDraining while agent a is still heard, then NoMatchingAgent).
  const lost = waiting.status!.events.find((e) => e.reason === 'AttemptLost');
  t.regex(lost?.message ?? '', new RegExp(`^attempt 1 on agent ${aName} lost \\(AgentShutdown\\)`));
  t.true(
    waiting.status!.events.some((e) => e.reason === 'Retrying'),
    'a Retrying event',
  );

  const b = await agent(`agent-t-${unique()}`);
  const final = await client.waitForBuild('default', 'moved-1', AbortSignal.timeout(40_000));
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(final.status!.agent, String(b.logs().find((l) => l.msg === 'agent started')!.agent));
});
