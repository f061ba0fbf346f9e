import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { resolveAgentConfig } from '../agent/config.js';
import type { SlipwayClient } from '../cli/client.js';
import { InvalidBuildConfigError, InvalidInputError } from '../common/errors.js';
import { slipwayProto } from '../common/grpc/proto.js';
import { reasonOf } from '../common/grpc/status.js';
import { parseBuildConfigDocument } from '../api/validation.js';
import type { AgentServiceClient } from '../proto/generated/slipway/v1/AgentService.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { testEnvironment } from './helpers/environment.js';
import { FakeKubernetesApi } from './helpers/fake-kube-api.js';
import { startGitServer } from './helpers/git-server.js';
import { addAgent, dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';
import { eventually } from './helpers/eventually.js';

// Everything here is real (NATS, dockerd, registry, git) except the Kubernetes API, which is
// FakeKubernetesApi: no real apiserver can run in this environment.

const unique = () => randomBytes(4).toString('hex');

async function setUp(t: ExecutionContext, nodes: Record<string, Record<string, string>>) {
  const env = testEnvironment();
  const kube = await FakeKubernetesApi.start(t);
  for (const [name, labels] of Object.entries(nodes)) kube.addNode(name, labels);
  const git = await startGitServer(t);
  const slipway = await startSlipway(t, { agents: 0 });
  const agentOn = (node: string) =>
    addAgent(t, slipway, {
      concurrency: 1,
      settings: { kubeNode: true, kubeconfig: kube.kubeconfigPath, node, name: `agent-${node}-${unique()}` },
    });
  /** A config building a small image; `sleep` seconds in a RUN step make it take a while. */
  const config = async (name: string, o: { sleep?: number; nodeSelector?: Record<string, string> } = {}) => {
    const repo = await git.createRepo(name, {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()}${o.sleep ? ` && sleep ${o.sleep}` : ''}\n`,
    });
    const c = dockerBuildConfig(name, repo.uri, `${env.registry}/test/node-aware-${name}-${unique()}:v1`, {
      noCache: true,
    });
    c.spec!.nodeSelector = o.nodeSelector ?? {};
    await slipway.client.createBuildConfig(c);
  };
  const start = async (name: string) =>
    (await slipway.client.startBuild({ namespace: 'default', configName: name })).metadata!.name!;
  return { kube, slipway, agentOn, config, start };
}

async function waitFor(
  client: SlipwayClient,
  name: string,
  pred: (b: Build__Output) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<Build__Output> {
  for await (const b of client.watchBuild('default', name, AbortSignal.timeout(timeoutMs))) if (pred(b)) return b;
  throw new Error(`build ${name} ended before: ${what}`);
}

/** The build's phase stays `phase` (no agent claims it) for `ms`: time passing is what is tested. */
async function staysFor(
  t: ExecutionContext,
  s: Slipway,
  name: string,
  phase: string,
  ms: number,
): Promise<Build__Output> {
  const until = Date.now() + ms;
  let b = await s.client.getBuild('default', name);
  while (Date.now() < until) {
    b = await s.client.getBuild('default', name);
    t.is(b.status!.phase, phase, `${name} stays ${phase}`);
    if (b.status!.phase !== phase) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return b;
}

const until = (cond: () => boolean, what: string) => eventually(what, cond, { timeoutMs: 10_000, intervalMs: 50 });

test('a cordoned node claims nothing new; its running build completes; uncordoned, it takes the waiting build', async (t) => {
  const { kube, slipway, agentOn, config, start } = await setUp(t, { 'node-a': {} });
  const agent = await agentOn('node-a');
  await config('long', { sleep: 4 });
  await config('waits');
  await until(() => agent.claiming, 'the agent read its node');

  const long = await start('long');
  await waitFor(slipway.client, long, (b) => b.status!.phase === 'Running', 'Running');
  kube.cordon('node-a');
  await until(() => !agent.claiming, 'the agent saw the cordon');

  const waits = await start('waits');
  const finishedLong = await slipway.client.waitForBuild('default', long, AbortSignal.timeout(60_000));
  t.is(finishedLong.status!.phase, 'Complete', finishedLong.status!.message);
  t.is(finishedLong.status!.node, 'node-a');
  // Cordoned, with a free slot: the new build is not claimed.
  await staysFor(t, slipway, waits, 'Pending', 3000);

  kube.uncordon('node-a');
  const done = await slipway.client.waitForBuild('default', waits, AbortSignal.timeout(60_000));
  t.is(done.status!.phase, 'Complete', done.status!.message);
  t.is(done.status!.node, 'node-a');
  t.is(done.status!.agent, agent.config.name);
});

test('builds with a nodeSelector run only on the agent whose node matches; one matching no node waits until a node is labelled', async (t) => {
  const { kube, slipway, agentOn, config, start } = await setUp(t, {
    'node-ssd': { disk: 'ssd' },
    'node-hdd': { disk: 'hdd' },
  });
  const ssd = await agentOn('node-ssd');
  const hdd = await agentOn('node-hdd');
  await until(() => ssd.claiming && hdd.claiming, 'both agents read their nodes');
  await config('on-ssd', { nodeSelector: { disk: 'ssd' } });
  await config('on-hdd', { nodeSelector: { disk: 'hdd' } });
  await config('on-gpu', { nodeSelector: { gpu: 'true', disk: 'ssd' } });

  const builds = [];
  for (let i = 0; i < 3; i++)
    builds.push({ name: await start('on-ssd'), agent: ssd }, { name: await start('on-hdd'), agent: hdd });
  const gpu = await start('on-gpu');
  for (const { name, agent } of builds) {
    const b = await slipway.client.waitForBuild('default', name, AbortSignal.timeout(90_000));
    t.is(b.status!.phase, 'Complete', `${name}: ${b.status!.message}`);
    t.is(b.status!.agent, agent.config.name, name);
    t.is(b.status!.node, agent.config.node, name);
  }

  // No node has gpu=true: the build stays Pending, says what it waits for, and is not lost.
  const waiting = await staysFor(t, slipway, gpu, 'Pending', 3000);
  t.is(waiting.status!.reason, 'NoMatchingAgent');
  t.regex(waiting.status!.message, /^no agent's node matches nodeSelector gpu=true,disk=ssd \(2 agent\(s\): /);
  t.is(waiting.status!.agent, '');
  kube.label('node-hdd', { gpu: 'true' }); // still disk=hdd: no match
  await staysFor(t, slipway, gpu, 'Pending', 2000);
  kube.label('node-ssd', { gpu: 'true' });
  const ran = await slipway.client.waitForBuild('default', gpu, AbortSignal.timeout(60_000));
  t.is(ran.status!.phase, 'Complete', ran.status!.message);
  t.is(ran.status!.node, 'node-ssd');
  t.is(ran.status!.attempt, 1);
});

type Call = (req: object, cb: (err: grpc.ServiceError | null, res?: { build?: Build__Output }) => void) => void;
const ask = (client: AgentServiceClient, method: 'ClaimBuild' | 'Heartbeat', req: object) =>
  new Promise<{ build?: Build__Output }>((resolve, reject) =>
    (client[method] as unknown as Call).call(client, req, (err, res) => (err ? reject(err) : resolve(res!))),
  );

test('the coordinator refuses a claim from an agent whose node labels do not match, and the build stays Pending', async (t) => {
  // No agents: this test plays them over the real gRPC API, as faulty or outdated agents would.
  const slipway = await startSlipway(t, { agents: 0 });
  const agents = new (slipwayProto().slipway.v1.AgentService)(
    slipway.coordinators[0]!.address,
    grpc.credentials.createInsecure(),
  );
  t.teardown(() => agents.close());
  await slipway.client.createBuildConfig({
    metadata: { name: 'picky' },
    spec: {
      source: { git: { uri: 'git://127.0.0.1:9/app' } },
      strategy: { docker: {} },
      output: { image: '127.0.0.1:9/app:v1' },
      nodeSelector: { disk: 'ssd' },
    },
  });
  await slipway.client.startBuild({ namespace: 'default', configName: 'picky' });
  const build = { namespace: 'default', name: 'picky-1', attempt: 1 };

  // Agent a's node does not match: nothing is placed on it, and its claim is refused.
  await ask(agents, 'Heartbeat', { agent: 'a', node: 'n', instance: 'r1', running: [], nodeLabels: { disk: 'hdd' } });
  await waitFor(slipway.client, 'picky-1', (b) => b.status!.reason === 'NoMatchingAgent', 'NoMatchingAgent');
  const notPlaced = await t.throwsAsync<grpc.ServiceError>(
    ask(agents, 'ClaimBuild', { build, agent: 'a', node: 'n', claimId: 'a/r1/1', nodeLabels: { disk: 'ssd' } }),
  );
  t.is(reasonOf(notPlaced), 'StaleAttempt');
  t.regex(notPlaced!.details, /not placed on an agent/);

  // Agent b's node matched when it was placed there, but its labels changed before it claimed.
  await ask(agents, 'Heartbeat', { agent: 'b', node: 'm', instance: 'r1', running: [], nodeLabels: { disk: 'ssd' } });
  await waitFor(slipway.client, 'picky-1', (b) => b.status!.placedAgent === 'b', 'placed on b');
  for (const nodeLabels of [{}, { disk: 'hdd' }, { ssd: 'disk' }]) {
    const err = await t.throwsAsync<grpc.ServiceError>(
      ask(agents, 'ClaimBuild', { build, agent: 'b', node: 'm', claimId: 'b/r1/1', nodeLabels }),
    );
    t.is(err?.code, grpc.status.FAILED_PRECONDITION);
    t.is(reasonOf(err), 'NodeSelectorMismatch');
    t.regex(err!.details, /selects nodes labelled disk=ssd; node "m" of agent "b" lacks disk=ssd/);
  }
  const still = await slipway.client.getBuild('default', 'picky-1');
  t.is(still.status!.phase, 'Pending');
  t.is(still.status!.agent, '');

  // Its claim with matching labels is accepted, once (the claim is still the compare-and-set it was).
  const claimed = await ask(agents, 'ClaimBuild', {
    build,
    agent: 'b',
    node: 'm',
    claimId: 'b/r1/2',
    nodeLabels: { disk: 'ssd', zone: 'z' },
  });
  t.is(claimed.build!.status!.phase, 'Running');
  t.is(claimed.build!.status!.node, 'm');
  const again = await t.throwsAsync<grpc.ServiceError>(
    ask(agents, 'ClaimBuild', { build, agent: 'c', node: 'o', claimId: 'c/r1/3', nodeLabels: { disk: 'ssd' } }),
  );
  t.is(reasonOf(again), 'StaleAttempt');
});

test('nodeSelector and the agent’s Kubernetes settings are checked, naming the field', (t) => {
  const doc = (nodeSelector: unknown) => ({
    metadata: { name: 'x' },
    spec: { source: { git: { uri: 'git://h/r' } }, strategy: { docker: {} }, output: { image: 'r/a:v' }, nodeSelector },
  });
  t.deepEqual(parseBuildConfigDocument(doc({ 'kubernetes.io/arch': 'amd64', tier: '' })).spec.nodeSelector, {
    'kubernetes.io/arch': 'amd64',
    tier: '',
  });
  const fields = (nodeSelector: unknown) => {
    const err = t.throws(() => parseBuildConfigDocument(doc(nodeSelector)), { instanceOf: InvalidBuildConfigError });
    return err!.fields.map((f) => `${f.field}: ${f.message}`);
  };
  t.deepEqual(fields({ disk: 1 }), ['spec.nodeSelector.disk: must be string']);
  t.deepEqual(fields('disk=ssd'), ['spec.nodeSelector: must be object']);
  const many = fields({
    'Bad_Prefix/name': 'v',
    '-dash': 'v',
    ['x'.repeat(64)]: 'v',
    ok: 'has space',
    okay: 'y'.repeat(64),
  });
  t.is(many.length, 5, many.join('\n'));
  t.true(
    many.some((m) =>
      m.startsWith('spec.nodeSelector.Bad_Prefix/name: "Bad_Prefix/name" is not a label key: the prefix'),
    ),
  );
  t.true(many.some((m) => m.startsWith('spec.nodeSelector.-dash: "-dash" is not a label key')));
  t.true(many.some((m) => m.startsWith('spec.nodeSelector.ok: "has space" is not a label value')));
  t.true(many.some((m) => m.startsWith('spec.nodeSelector.okay:') && m.includes('at most 63')));

  const settings = (s: object) =>
    t.throws(() => resolveAgentConfig(s), { instanceOf: InvalidInputError })!.fields.map((f) => f.field);
  t.deepEqual(settings({ kubeconfig: '/etc/kubeconfig' }), ['SLIPWAY_KUBECONFIG']);
  t.deepEqual(settings({ kubeNode: 'yes' }), ['SLIPWAY_KUBE_NODE']);
});
