import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { SlipwayClient } from '../cli/client.js';
import { startAgentServiceProxy, type ProxyFault } from './helpers/agent-service-proxy.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/processes.js';
import { startRunCounter } from './helpers/run-counter.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/service-processes.js';
import { dockerBuildConfig } from './helpers/slipway.js';

/*
 * An agent's report answered INTERNAL is retried until it is taken, so the build ends as soon as
 * the coordinator answers again, and once: not at its deadline, and not run a second time.
 *
 * The INTERNAL answers come from a gRPC hop between the agent and the coordinator
 * (helpers/agent-service-proxy.ts), which the agent cannot tell from the coordinator itself:
 * NATS failures are answered UNAVAILABLE (common/grpc/status.ts), so no fault of NATS makes a
 * coordinator answer INTERNAL on demand, and the hop needs no seam in the coordinator. It
 * answers INTERNAL either before the coordinator saw the report or after its write landed (the
 * retry then finds the build already ended by that very report).
 */

const unique = () => randomBytes(4).toString('hex');
/** Far beyond how long the build takes: a build left to its deadline backstop fails the test. */
const DEADLINE_SECONDS = 300;

/** A coordinator process, the proxy in front of its AgentService, and one agent process calling through it. */
async function setUp(t: ExecutionContext, drainTimeoutMs = 0) {
  const nats = await startNatsServer(t);
  const port = await freePort();
  await startCoordinatorProcess(t, { natsUrl: nats.url, port });
  const proxy = await startAgentServiceProxy(t, `127.0.0.1:${port}`);
  const client = new SlipwayClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const name = `agent-r-${unique()}`;
  const agent = await startAgentProcess(t, {
    natsUrl: nats.url,
    coordinator: proxy.address,
    name,
    workDir: path.join(await tempDir(t, 'slipway-agents-'), name),
    drainTimeoutMs,
  });
  return { client, proxy, agent };
}

async function buildAnsweredInternal(t: ExecutionContext, faults: ProxyFault[]) {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const counter = await startRunCounter(t);
  const { client, proxy, agent } = await setUp(t);
  const run = `r${unique()}`;
  const repo = await git.createRepo('reported', {
    Dockerfile: `FROM ${env.baseImage}\nRUN ${counter.command(run)} && echo ${run} > /run-id\n`,
  });
  const config = dockerBuildConfig('reported', repo.uri, `${env.registry}/test/reported-${unique()}:v1`);
  config.spec!.completionDeadlineSeconds = DEADLINE_SECONDS;
  await client.createBuildConfig(config);
  proxy.arm('CompleteBuild', faults);
  await client.startBuild({ namespace: 'default', configName: 'reported' });
  const final = await client.waitForBuild('default', 'reported-1', AbortSignal.timeout(90_000));
  return { final, proxy, agent, client, runs: () => counter.runs().get(run) ?? 0 };
}

for (const [title, faults] of [
  ['INTERNAL before the coordinator saw it', ['internal-before', 'internal-before'] as ProxyFault[]],
  ['INTERNAL after its write landed', ['internal-after'] as ProxyFault[]],
] as const) {
  test.serial(`a completion answered ${title} is retried: the build ends Complete promptly, once`, async (t) => {
    const { final, proxy, agent, client, runs } = await buildAnsweredInternal(t, faults);
    const s = final.status!;
    t.is(s.phase, 'Complete', `${s.reason}: ${s.message}`);
    t.is(s.attempt, 1);
    // Ended by the agent's report, well before the deadline backstop would have ended it.
    const tookMs = Date.parse(s.completionTimestamp) - Date.parse(final.metadata!.creationTimestamp);
    t.true(tookMs < (DEADLINE_SECONDS * 1000) / 4, `ended after ${tookMs} ms`);
    // The build's end can be seen before the answer to the report that ended it reaches the agent.
    await agent.waitForLog((l) => l.msg === 'outcome accepted', 10_000).catch(() => undefined);
    t.is(runs(), 1, 'the build step ran once');
    t.is(agent.logs().filter((l) => l.msg === 'build started').length, 1);
    // Each INTERNAL answer was followed by another try, the last one taken.
    t.deepEqual(proxy.calls('CompleteBuild'), [...faults.map(() => grpc.status.INTERNAL), grpc.status.OK]);
    t.is(agent.logs().filter((l) => l.msg === 'outcome accepted').length, 1);
    t.is(s.events.filter((e) => e.reason === 'Complete').length, 1, 'one Complete event');
    // The retry that found its own report already written wrote nothing more.
    const now = await client.getBuild(final.metadata!.namespace, final.metadata!.name);
    t.is(now.metadata!.resourceVersion, final.metadata!.resourceVersion);
  });
}

test.serial(
  'a hand-back (AgentShutdown) answered INTERNAL after it landed is retried and answered, not refused',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const { client, proxy, agent } = await setUp(t, 300);
    const repo = await git.createRepo('handed', {
      Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N && sleep 20\n`,
    });
    const config = dockerBuildConfig('handed', repo.uri, `${env.registry}/test/handed-${unique()}:v1`, {
      buildArgs: [{ name: 'N', value: unique() }],
    });
    config.spec!.retries = 1;
    config.spec!.completionDeadlineSeconds = DEADLINE_SECONDS;
    await client.createBuildConfig(config);
    proxy.arm('FailBuild', ['internal-after']);
    await client.startBuild({ namespace: 'default', configName: 'handed' });
    await agent.waitForLog((l) => l.msg === 'build started');
    agent.signal('SIGTERM');
    await agent.exited();
    t.deepEqual(proxy.calls('FailBuild'), [grpc.status.INTERNAL, grpc.status.OK]);
    const accepted = agent.logs().filter((l) => l.msg === 'outcome accepted');
    t.is(accepted.length, 1);
    t.is(accepted[0]?.phase, 'Pending', 'answered with the build, now at its next attempt');
    t.false(
      agent.logs().some((l) => String(l.msg).startsWith('outcome refused')),
      'not refused as stale',
    );
    const b = await client.getBuild('default', 'handed-1');
    t.is(b.status!.attempt, 2, 'handed back once');
    t.like(b.status!.previousAttempt, { attempt: 1, reason: 'AgentShutdown' });
    t.is(b.status!.events.filter((e) => e.reason === 'Retrying').length, 1);
  },
);
