import { randomBytes } from 'node:crypto';
import path from 'node:path';
import test from 'ava';
import { PENDING_REASONS } from '../api/types.js';
import { SlipwayClient } from '../cli/client.js';
import { describeBuild } from '../cli/format.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startNatsServer } from './helpers/nats-server.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/processes.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/service-processes.js';
import { dockerBuildConfig } from './helpers/slipway.js';

/*
 * A build whose attempt was handed back (its agent shut down) and which then waits for placement
 * shows both: status.reason says why it waits now, status.previousAttempt how the attempt before
 * ended; in the gRPC API, `slipway describe` and the Kubernetes API (object and Table).
 */

const unique = () => randomBytes(4).toString('hex');

test('a retried attempt that waits shows the waiting reason and how the previous attempt ended', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const nats = await startNatsServer(t);
  const port = await freePort();
  const kubePort = await freePort();
  await startCoordinatorProcess(t, {
    natsUrl: nats.url,
    port,
    env: { SLIPWAY_KUBE_API_LISTEN: `127.0.0.1:${kubePort}` },
  });
  const client = new SlipwayClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const agentName = `agent-h-${unique()}`;
  const agent = await startAgentProcess(t, {
    natsUrl: nats.url,
    coordinator: `127.0.0.1:${port}`,
    name: agentName,
    workDir: path.join(await tempDir(t, 'slipway-agents-'), agentName),
    drainTimeoutMs: 500,
  });
  const repo = await git.createRepo('handed', {
    Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N && sleep 20\n`,
  });
  const config = dockerBuildConfig('handed', repo.uri, `${env.registry}/test/handed-${unique()}:v1`, {
    buildArgs: [{ name: 'N', value: unique() }],
  });
  config.spec!.retries = 1;
  await client.createBuildConfig(config);
  await client.startBuild({ namespace: 'default', configName: 'handed' });
  await agent.waitForLog((l) => l.msg === 'build started');
  // Past its short drain, the agent stops the build and hands the attempt back: AgentShutdown.
  agent.signal('SIGTERM');
  await agent.exited();

  // Attempt 2 waits: no agent is left (AgentDraining while the stopping one is still heard, then
  // NoMatchingAgent), and placement says so in status.reason.
  let waiting;
  for await (const b of client.watchBuild('default', 'handed-1', AbortSignal.timeout(30_000))) {
    if ((PENDING_REASONS as readonly string[]).includes(b.status!.reason)) {
      waiting = b;
      break;
    }
  }
  const s = waiting!.status!;
  t.is(s.phase, 'Pending');
  t.is(s.attempt, 2);
  t.truthy(s.previousAttempt, 'status.previousAttempt is set');
  const previous = s.previousAttempt!;
  t.is(previous.attempt, 1);
  t.is(previous.reason, 'AgentShutdown');
  t.is(previous.agent, agentName);
  t.is(previous.node, `node-of-${agentName}`);
  t.regex(previous.message, /shut down before the build finished/);
  t.true(Date.parse(previous.completionTimestamp) > 0);

  // slipway describe: both, each on a line of its own.
  const described = describeBuild(waiting!);
  t.regex(described, new RegExp(`^Reason:\\s+${s.reason}$`, 'm'));
  t.regex(described, new RegExp(`^Previous attempt:\\s+1 on agent ${agentName} .*: AgentShutdown: `, 'm'));

  // The Kubernetes API: the object carries it, and `kubectl get -o wide` has a column for it.
  const url = `http://127.0.0.1:${kubePort}/apis/build.slipway.dev/v1/namespaces/default/builds/handed-1`;
  const object = (await (await fetch(url)).json()) as { status: { reason: string; previousAttempt?: unknown } };
  t.like(object.status.previousAttempt, { attempt: 1, reason: 'AgentShutdown', agent: agentName });
  const tableResponse = await fetch(url, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
  const table = (await tableResponse.json()) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  const column = table.columnDefinitions.findIndex((c) => c.name === 'Previous Attempt');
  t.true(column >= 0, 'a Previous Attempt column');
  t.is(table.rows[0]!.cells[column], '1 AgentShutdown');
  // (AgentDraining may have turned NoMatchingAgent between the two reads.)
  const reasonCell = table.rows[0]!.cells[table.columnDefinitions.findIndex((c) => c.name === 'Reason')];
  t.true((PENDING_REASONS as readonly unknown[]).includes(reasonCell), `Reason ${String(reasonCell)}`);
});
