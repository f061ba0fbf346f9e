import { randomBytes } from 'node:crypto';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { SlipwayClient } from '../cli/client.js';
import { environmentDocker, recordDaemonEvents } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/processes.js';
import { registryDigest } from './helpers/registry.js';
import { startRunCounter } from './helpers/run-counter.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/service-processes.js';
import { dockerBuildConfig } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

async function setUp(t: ExecutionContext, name: string, sleepSeconds: number) {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const nats = await startNatsServer(t);
  const port = await freePort();
  let coordinator = await startCoordinatorProcess(t, { natsUrl: nats.url, port });
  const client = new SlipwayClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const agent = await startAgentProcess(t, {
    natsUrl: nats.url,
    coordinator: `127.0.0.1:${port}`,
    name: `agent-${unique()}`,
    workDir: path.join(await tempDir(t), 'agent'),
  });
  // Each execution of the RUN step reports itself to the counter.
  const counter = await startRunCounter(t);
  const repo = await git.createRepo(name, {
    Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN ${counter.command(name)} && echo $N && sleep ${sleepSeconds}\n`,
  });
  const repository = `test/${name}-${unique()}`;
  await client.createBuildConfig(
    dockerBuildConfig(name, repo.uri, `${env.registry}/${repository}:v1`, {
      noCache: true,
      buildArgs: [{ name: 'N', value: unique() }],
    }),
  );
  return {
    nats,
    client,
    counter,
    agent,
    repository,
    killCoordinator: async () => {
      coordinator.signal('SIGKILL');
      await coordinator.exited();
    },
    startCoordinator: async () => {
      coordinator = await startCoordinatorProcess(t, { natsUrl: nats.url, port });
    },
  };
}

test.serial('coordinator killed mid-build and restarted: the build completes, run exactly once', async (t) => {
  const s = await setUp(t, 'survivor', 2);
  const events = await recordDaemonEvents(environmentDocker());
  await s.client.startBuild({ namespace: 'default', configName: 'survivor' });
  await s.agent.waitForLog((l) => l.msg === 'build started');
  await s.killCoordinator();
  // The build finishes while no coordinator is there: its report is retried, not dropped.
  await s.agent.waitForLog(
    (l) => l.msg === 'coordinator call did not get through; retrying' && l.method === 'CompleteBuild',
  );
  // Down longer than the agents' grace (time passing is what is tested): a restarted coordinator must not take that for a lost agent.
  await new Promise((r) => setTimeout(r, 4000));
  await s.startCoordinator();

  const final = await s.client.waitForBuild('default', 'survivor-1', AbortSignal.timeout(60_000));
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(final.status!.attempt, 1);
  t.is(await registryDigest(s.repository, 'v1'), final.status!.output!.digest);
  const seen = await events.stop();
  // One RUN step: one execution at the counter, one image tagged for the build on the daemon.
  t.deepEqual([...s.counter.hits()], [['/run/survivor', 1]]);
  t.is(
    seen.filter((e) => e.type === 'image' && e.action === 'tag' && e.attributes['slipway.dev/build'] === 'survivor-1')
      .length,
    1,
  );
});

test.serial('nats-server restarted mid-build: the build completes', async (t) => {
  const s = await setUp(t, 'weathered', 4);
  await s.client.startBuild({ namespace: 'default', configName: 'weathered' });
  await s.agent.waitForLog((l) => l.msg === 'build started');
  await s.nats.restart();

  const final = await s.client.waitForBuild('default', 'weathered-1', AbortSignal.timeout(60_000));
  t.is(final.status!.phase, 'Complete', final.status!.message);
  t.is(final.status!.attempt, 1);
  t.is(await registryDigest(s.repository, 'v1'), final.status!.output!.digest);
  // The log came through whole: its last line is the outcome, and its count is the build's.
  const lines: string[] = [];
  for await (const l of s.client.streamBuildLogs({ namespace: 'default', name: 'weathered-1' })) lines.push(l.text);
  t.is(lines.length, Number(final.status!.logLines));
  t.regex(lines.at(-1)!, /^Build complete/);
});
