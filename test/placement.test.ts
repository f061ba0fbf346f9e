import { randomBytes } from 'node:crypto';
import test from 'ava';
import { LABELS } from '../agent/build-runner.js';
import type { Agent } from '../agent/agent.js';
import type { SlipwayClient } from '../cli/client.js';
import { recordDaemonEvents, type DaemonEvent } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { startPrivateDaemon } from './helpers/private-daemon.js';
import { startRunCounter } from './helpers/run-counter.js';
import { addAgent, dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';
import { buildUntil } from './helpers/eventually.js';

// Issue #12's must-shows, end to end: real coordinators and agents, each agent on a Docker daemon
// of its own standing in for a node, real builds; what ran where is counted on the daemons.

const unique = () => randomBytes(4).toString('hex');

const until = buildUntil;

/** Builds whose attempt was tagged on this daemon (one image `tag` event carrying its labels each). */
function tagged(events: DaemonEvent[]): string[] {
  return events
    .filter((e) => e.type === 'image' && e.action === 'tag' && e.attributes[LABELS.build])
    .map((e) => `${e.attributes[LABELS.build]}/${e.attributes[LABELS.attempt]}`);
}

async function config(
  sw: Slipway,
  namespace: string,
  name: string,
  uri: string,
  o: {
    nodeSelector?: Record<string, string>;
    pendingDeadlineSeconds?: number;
    pushSecret?: string;
    noCache?: boolean;
  } = {},
) {
  const env = testEnvironment();
  const c = dockerBuildConfig(name, uri, `${env.registry}/test/placement-${name}-${unique()}:v1`, {
    noCache: o.noCache ?? true,
    buildArgs: [{ name: 'N', value: unique() }],
  });
  c.metadata!.namespace = namespace;
  c.spec!.nodeSelector = o.nodeSelector ?? {};
  if (o.pendingDeadlineSeconds) c.spec!.pendingDeadlineSeconds = o.pendingDeadlineSeconds;
  if (o.pushSecret) c.spec!.output!.pushSecret = { name: o.pushSecret };
  await sw.client.createBuildConfig(c);
}

const start = async (client: SlipwayClient, namespace: string, configName: string) =>
  (await client.startBuild({ namespace, configName })).metadata!.name;

test.serial(
  'builds go only to agents whose node labels match; a selector nothing matches says NoMatchingAgent at once, and fails at its pendingDeadlineSeconds',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const repo = await git.createRepo('labels', { Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N > /n\n` });
    const sw = await startSlipway(t, { agents: 0 });
    const nodes = [
      { disk: 'ssd', zone: 'a' },
      { disk: 'hdd', zone: 'a' },
      { disk: 'ssd', zone: 'b' },
    ];
    const daemons = await Promise.all(nodes.map(() => startPrivateDaemon(t)));
    const recordings = await Promise.all(daemons.map((d) => recordDaemonEvents(d.docker)));
    const agents: Agent[] = [];
    for (const [i, labels] of nodes.entries())
      agents.push(await addAgent(t, sw, { settings: { dockerHost: daemons[i]!.dockerHost, nodeLabels: labels } }));

    await config(sw, 'default', 'ssd-b', repo.uri, { nodeSelector: { disk: 'ssd', zone: 'b' } });
    await config(sw, 'default', 'zone-a', repo.uri, { nodeSelector: { zone: 'a' } });
    await config(sw, 'default', 'gpu', repo.uri, { nodeSelector: { gpu: 'true' }, pendingDeadlineSeconds: 10 });

    const gpu = await start(sw.client, 'default', 'gpu');
    const wanted = new Map<string, number[]>();
    for (let i = 0; i < 2; i++) wanted.set(await start(sw.client, 'default', 'ssd-b'), [2]);
    for (let i = 0; i < 4; i++) wanted.set(await start(sw.client, 'default', 'zone-a'), [0, 1]);

    // At once: the first reason it gets, long before its deadline, names the selector.
    const waiting = await until(
      () => sw.client.getBuild('default', gpu),
      (b) => b.status!.reason !== '',
      'said why it waits',
      5000,
    );
    t.is(waiting.status!.phase, 'Pending');
    t.is(waiting.status!.reason, 'NoMatchingAgent');
    t.regex(waiting.status!.message, /^no agent's node matches nodeSelector gpu=true \(3 agent\(s\): /);

    for (const [name, allowed] of wanted) {
      const b = await sw.client.waitForBuild('default', name, AbortSignal.timeout(120_000));
      t.is(b.status!.phase, 'Complete', `${name}: ${b.status!.message}`);
      const on = agents.findIndex((a) => a.config.name === b.status!.agent);
      t.true(allowed.includes(on), `${name} ran on agent ${on}, which does not match its selector`);
    }
    const failed = await sw.client.waitForBuild('default', gpu, AbortSignal.timeout(30_000));
    t.is(failed.status!.phase, 'Failed');
    t.is(failed.status!.reason, 'NoMatchingAgent');
    t.regex(
      failed.status!.message,
      /^not placed on an agent within pendingDeadlineSeconds \(10 s\): no agent's node matches nodeSelector gpu=true/,
    );

    // Counted on the daemons: each build tagged once, and only on a daemon its selector allows.
    const perDaemon = (await Promise.all(recordings.map((r) => r.stop()))).map(tagged);
    for (const [name, allowed] of wanted) {
      const where = perDaemon.flatMap((tags, i) => tags.filter((x) => x.startsWith(`${name}/`)).map(() => i));
      t.is(where.length, 1, `${name} ran once, on daemons ${where}`);
      t.true(allowed.includes(where[0]!), `${name} ran on daemon ${where[0]}`);
    }
    t.false(perDaemon.flat().some((x) => x.startsWith(`${gpu}/`)));
  },
);

test.serial("fairness: tenant A starts 200 builds, then tenant B one: B starts before A's 20th", async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const repo = await git.createRepo('fair', { Dockerfile: `FROM ${env.baseImage}\nRUN echo fair > /f\n` });
  const sw = await startSlipway(t, { agents: 0 });
  await addAgent(t, sw, { concurrency: 2 });
  // Cached after the first: each build takes well under a second, so the queue moves.
  await config(sw, 'tenant-a', 'app', repo.uri, { noCache: false });
  await config(sw, 'tenant-b', 'app', repo.uri, { noCache: false });
  const a: string[] = [];
  for (let i = 0; i < 200; i++) a.push(await start(sw.client, 'tenant-a', 'app'));
  const b = await start(sw.client, 'tenant-b', 'app');

  const bDone = await sw.client.waitForBuild('tenant-b', b, AbortSignal.timeout(120_000));
  t.is(bDone.status!.phase, 'Complete', bDone.status!.message);
  const bStart = Date.parse(bDone.status!.startTimestamp);
  // The rest of A's queue is not this test's business: cancel what has not run.
  const aBuilds = await sw.client.listBuilds({ namespace: 'tenant-a' });
  await Promise.all(
    aBuilds
      .filter((x) => ['New', 'Pending'].includes(x.status!.phase))
      .map((x) => sw.client.cancelBuild('tenant-a', x.metadata!.name).catch(() => {})),
  );
  const startedBefore = aBuilds.filter(
    (x) => x.status!.startTimestamp && Date.parse(x.status!.startTimestamp) < bStart,
  );
  t.log(`A's builds started before B's: ${startedBefore.length} of ${a.length}`);
  t.true(startedBefore.length < 19, `${startedBefore.length} of tenant A's builds started before tenant B's one`);
  // In order of arrival, B would have waited for all of these.
  t.true(
    a.length - startedBefore.length >= 100,
    `only ${a.length - startedBefore.length} of A's builds were still waiting when B's started`,
  );
});

test.serial(
  'capacity: an agent never runs more builds at once than its limit, counted on its daemon, with two coordinators placing',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    // Each RUN step reports to the counter as it begins and as it ends (BuildKit steps are no containers).
    const counter = await startRunCounter(t);
    const repo = await git.createRepo('cap', {
      Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN ${counter.command('begin')} && echo $N && sleep 2 && ${counter.command('end')}\n`,
    });
    const sw = await startSlipway(t, { agents: 0, coordinators: 2 });
    const daemon = await startPrivateDaemon(t);
    const recording = await recordDaemonEvents(daemon.docker);
    await addAgent(t, sw, { concurrency: 2, settings: { dockerHost: daemon.dockerHost } });
    // A config a build, each with an N of its own: BuildKit runs a step once for all the builds on
    // its daemon that need the same step at the same time (no-cache or not), so builds of one
    // config running together would share one execution.
    for (let i = 0; i < 8; i++) await config(sw, 'default', `cap-${i}`, repo.uri);
    const names: string[] = [];
    for (let i = 0; i < 8; i++) names.push(await start(sw.clientOf(i % 2), 'default', `cap-${i}`));
    for (const name of names)
      t.is(
        (await sw.client.waitForBuild('default', name, AbortSignal.timeout(120_000))).status!.phase,
        'Complete',
        name,
      );
    const events = await recording.stop();

    // RUN steps running at once, from the begin to the end each reported.
    let running = 0;
    let most = 0;
    for (const r of counter.requests()) {
      running += r.path === '/run/begin' ? 1 : -1;
      most = Math.max(most, running);
    }
    t.deepEqual([...counter.hits()].sort(), [
      ['/run/begin', 8],
      ['/run/end', 8],
    ]);
    t.log(`most RUN steps at once: ${most}`);
    t.true(most <= 2, `${most} build steps ran at once on an agent whose limit is 2`);
    t.is(most, 2, 'the agent did use both of its slots (the count can see concurrency)');
    const tags = tagged(events);
    t.is(tags.length, 8);
    t.is(new Set(tags).size, 8, 'each build tagged once');
  },
);

test.serial('a push secret that does not exist holds the build (MissingPushSecret) until it is created', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const repo = await git.createRepo('secret', { Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N > /n\n` });
  const sw = await startSlipway(t, { agents: 1 });
  await config(sw, 'default', 'pushy', repo.uri, { pushSecret: 'reg' });
  const name = await start(sw.client, 'default', 'pushy');
  const held = await until(
    () => sw.client.getBuild('default', name),
    (b) => b.status!.reason !== '',
    'said why it waits',
  );
  t.is(held.status!.reason, 'MissingPushSecret');
  t.is(held.status!.message, 'push secret "reg" does not exist in namespace default');
  await sw.client.createSecret({
    metadata: { name: 'reg', namespace: 'default' },
    type: 'docker-registry',
    registry: env.registry,
    username: 'u',
    password: `p-${unique()}`,
  });
  const done = await sw.client.waitForBuild('default', name, AbortSignal.timeout(60_000));
  t.is(done.status!.phase, 'Complete', done.status!.message);
  t.deepEqual(
    done
      .status!.events.map((e) => e.reason)
      .filter((r) => ['Queued', 'MissingPushSecret', 'Placed', 'Scheduled'].includes(r)),
    ['Queued', 'MissingPushSecret', 'Placed', 'Scheduled'],
  );
});

test.serial('an agent that is stopping takes nothing new: a build only it matches says AgentDraining', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const repo = await git.createRepo('drain', { Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N && sleep 4\n` });
  const sw = await startSlipway(t, { agents: 0 });
  const agent = await addAgent(t, sw, { settings: { nodeLabels: { pool: 'drain' } } });
  await config(sw, 'default', 'long', repo.uri, { nodeSelector: { pool: 'drain' } });
  const first = await start(sw.client, 'default', 'long');
  await until(
    () => sw.client.getBuild('default', first),
    (b) => b.status!.phase === 'Running',
    'ran',
  );
  const stopping = agent.stop(60_000);
  const second = await start(sw.client, 'default', 'long');
  const drained = await until(
    () => sw.client.getBuild('default', second),
    (b) => b.status!.reason !== '',
    'said why it waits',
  );
  t.is(drained.status!.reason, 'AgentDraining');
  t.regex(
    drained.status!.message,
    /^every agent that matches nodeSelector pool=drain takes no new builds: .* \(draining\)$/,
  );
  // The running build finishes; the waiting one is still waiting, for another agent.
  t.is((await sw.client.waitForBuild('default', first, AbortSignal.timeout(60_000))).status!.phase, 'Complete');
  await stopping;
  await addAgent(t, sw, { settings: { nodeLabels: { pool: 'drain' } } });
  t.is((await sw.client.waitForBuild('default', second, AbortSignal.timeout(60_000))).status!.phase, 'Complete');
});

test.serial(
  'an agent that stops right after a build says so before it goes: builds started after are never placed on it',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const repo = await git.createRepo('gone', { Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N\n` });
    const sw = await startSlipway(t, { agents: 0 });
    await config(sw, 'default', 'gone', repo.uri);
    const run = async () => {
      const name = await start(sw.client, 'default', 'gone');
      const b = await sw.client.waitForBuild('default', name, AbortSignal.timeout(60_000));
      t.is(b.status!.phase, 'Complete', b.status!.message);
      return b;
    };
    // Agents of one slot come and go one after another, as a bench's do: each runs a build and
    // stops at once; its successor then runs two. While the successor's slot still looks taken,
    // the agent that left (and holds the config warm) looks free, unless it said it was draining.
    let agent = await addAgent(t, sw, { concurrency: 1 });
    const stray: string[] = [];
    for (let i = 0; i < 3; i++) {
      await run();
      await agent.stop();
      const left = agent.config.name;
      agent = await addAgent(t, sw, { concurrency: 1 });
      for (let j = 0; j < 2; j++) {
        const b = await run();
        for (const e of b.status!.events!) if (e.reason === 'Placed' && e.message.includes(left)) stray.push(e.message);
      }
    }
    t.deepEqual(stray, [], 'no build was placed on an agent that had stopped');
  },
);
