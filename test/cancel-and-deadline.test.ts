import { randomBytes } from 'node:crypto';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { reasonOf } from '../common/grpc/status.js';
import type { SlipwayClient } from '../cli/client.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { JOBS_STREAM } from '../common/nats/names.js';
import { eventually } from './helpers/eventually.js';
import { uniqueSleep, untilStepRuns, untilStepStopped } from './helpers/step-processes.js';

const unique = () => randomBytes(4).toString('hex');

/** The build's final state, or a failure if it is not final within `ms`. */
async function finalWithin(client: SlipwayClient, name: string, ms: number) {
  const signal = AbortSignal.timeout(ms);
  return client.waitForBuild('default', name, signal).catch((err: unknown) => {
    throw new Error(`build ${name} not finished within ${ms} ms: ${(err as Error).message}`);
  });
}

test.serial('cancelling a running build stops it on its node and leaves no container', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const docker = environmentDocker();
  const marker = `started-${unique()}`;
  const sleep = uniqueSleep();
  const repo = await git.createRepo('sleepy', {
    Dockerfile: `FROM ${env.baseImage}\nRUN echo ${marker} && ${sleep.join(' ')}\n`,
  });
  await sw.client.createBuildConfig(
    dockerBuildConfig('sleepy', repo.uri, `${env.registry}/test/sleepy-${unique()}:v1`),
  );
  await sw.client.startBuild({ namespace: 'default', configName: 'sleepy' });
  await untilStepRuns(sw.client, 'sleepy-1', marker, sleep);

  const cancelling = await sw.client.cancelBuild('default', 'sleepy-1');
  t.is(cancelling.status!.phase, 'Running');
  t.true(cancelling.status!.cancelRequested);
  const final = await finalWithin(sw.client, 'sleepy-1', 10_000);
  t.is(final.status!.phase, 'Cancelled');
  t.is(final.status!.reason, 'Cancelled');
  await untilStepStopped(sleep);
  t.deepEqual(await docker.listContainers({ all: true, filters: { label: ['slipway.dev/build=sleepy-1'] } }), []);

  // Cancelling it again is a clear no-op error.
  const again = await t.throwsAsync<grpc.ServiceError>(sw.client.cancelBuild('default', 'sleepy-1'));
  t.is(again?.code, grpc.status.FAILED_PRECONDITION);
  t.is(reasonOf(again), 'BuildAlreadyTerminal');
});

test.serial('a build cancelled before any agent took it never runs', async (t) => {
  const sw = await startSlipway(t, { agents: 0 });
  await sw.client.createBuildConfig(dockerBuildConfig('idle', 'git://127.0.0.1:9/none', '127.0.0.1:9/test/idle:v1'));
  await sw.client.startBuild({ namespace: 'default', configName: 'idle' });
  const cancelled = await sw.client.cancelBuild('default', 'idle-1');
  t.is(cancelled.status!.phase, 'Cancelled');
  // An agent that starts now takes the queued job, is refused its claim, and drops it.
  await addAgent(t, sw);
  const nc = await connect({ servers: sw.natsUrl });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await eventually(
    'the queued job to be dropped',
    async () => (await jsm.streams.info(JOBS_STREAM)).state.messages === 0,
  );
  const after = await sw.client.getBuild('default', 'idle-1');
  t.is(after.status!.phase, 'Cancelled');
  t.is(after.status!.agent, '');
});

test.serial('a build past its completion deadline is stopped and fails with DeadlineExceeded', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const marker = `started-${unique()}`;
  const sleep = uniqueSleep();
  const repo = await git.createRepo('slow', {
    Dockerfile: `FROM ${env.baseImage}\nRUN echo ${marker} && ${sleep.join(' ')}\n`,
  });
  const config = dockerBuildConfig('slow', repo.uri, `${env.registry}/test/slow-${unique()}:v1`);
  config.spec!.completionDeadlineSeconds = 3;
  await sw.client.createBuildConfig(config);
  await sw.client.startBuild({ namespace: 'default', configName: 'slow' });
  await untilStepRuns(sw.client, 'slow-1', marker, sleep);
  const final = await finalWithin(sw.client, 'slow-1', 15_000);
  t.is(final.status!.phase, 'Failed');
  t.is(final.status!.reason, 'DeadlineExceeded');
  await untilStepStopped(sleep);
});
