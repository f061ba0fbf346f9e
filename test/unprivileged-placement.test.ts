import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { overclaimingExecutor } from './helpers/overclaiming-executor.js';
import test from 'ava';
import { HostExecutor } from '../agent/executors/host-executor.js';
import { remapRanges } from '../agent/executors/userns-remap.js';
import { slipwayProto } from '../common/grpc/proto.js';
import type { Isolation } from '../common/isolation.js';
import type { AgentServiceClient } from '../proto/generated/slipway/v1/AgentService.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { testEnvironment } from './helpers/environment.js';
import { buildUntil, eventually } from './helpers/eventually.js';
import { startGitServer } from './helpers/git-server.js';
import { startPrivateDaemon } from './helpers/private-daemon.js';
import { addAgent, dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';
import { processesRunning, uniqueSleep, untilStepStopped } from './helpers/step-processes.js';

// Issue #23 part 1: a namespace (SLIPWAY_UNPRIVILEGED_NAMESPACES) or a config
// (spec.security.unprivileged) that asks for unprivileged builds gets only agents whose builds run
// in a user namespace. Real NATS, coordinator, agents and daemons: one agent on the node's daemon
// (host executor, root on the node) and one dind agent with a remapped daemon per build.

const unique = () => randomBytes(4).toString('hex');

const until = buildUntil;

async function config(
  sw: Slipway,
  namespace: string,
  name: string,
  uri: string,
  o: { pendingDeadlineSeconds?: number; unprivileged?: boolean } = {},
) {
  const c = dockerBuildConfig(name, uri, `${testEnvironment().registry}/test/unpriv-${name}-${unique()}:v1`, {
    noCache: true,
    buildArgs: [{ name: 'N', value: unique() }],
  });
  c.metadata!.namespace = namespace;
  if (o.pendingDeadlineSeconds) c.spec!.pendingDeadlineSeconds = o.pendingDeadlineSeconds;
  if (o.unprivileged) c.spec!.security = { unprivileged: true };
  await sw.client.createBuildConfig(c);
}

const start = async (sw: Slipway, namespace: string, configName: string) =>
  (await sw.client.startBuild({ namespace, configName })).metadata!.name;

/** Waits (up to 3 min) for the build to end. */
async function finished(sw: Slipway, namespace: string, name: string): Promise<Build__Output> {
  return sw.client.waitForBuild(namespace, name, AbortSignal.timeout(180_000));
}

test.serial(
  "a namespace's policy and a config's field: with only a host agent the builds wait NoMatchingAgent saying why (and fail at pendingDeadlineSeconds) while other builds run there; a dind agent that remaps then runs them, as a uid of the node's subordinate range",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sleep = uniqueSleep();
    t.teardown(async () => {
      for (const pid of await processesRunning(sleep)) process.kill(pid, 'SIGKILL');
    });
    // The step's sleep is killed by the test once its uid is read: `|| true` lets the build complete.
    const repo = await git.createRepo('unpriv', {
      Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N > /n && cat /proc/self/uid_map\n`,
    });
    const sleeper = await git.createRepo('sleeper', {
      Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN ${sleep.join(' ')} || true\n`,
    });
    const sw = await startSlipway(t, { agents: 0, coordinator: { unprivilegedNamespaces: ['team-a'] } });
    const host = await addAgent(t, sw);

    await config(sw, 'team-a', 'app', repo.uri);
    await config(sw, 'team-a', 'hurried', repo.uri, { pendingDeadlineSeconds: 8 });
    await config(sw, 'team-a', 'sleeper', sleeper.uri);
    await config(sw, 'default', 'asks', repo.uri, { unprivileged: true });
    await config(sw, 'default', 'free', repo.uri);

    const app = await start(sw, 'team-a', 'app');
    const hurried = await start(sw, 'team-a', 'hurried');
    const asks = await start(sw, 'default', 'asks');
    const free = await start(sw, 'default', 'free');

    const saysWhy = (ns: string, name: string) =>
      until(
        () => sw.client.getBuild(ns, name),
        (b) => b.status!.reason !== '',
        'said why it waits',
        10_000,
      );
    const hostIs = `${host.config.name}: root on the node \\(the node's shared daemon\\)`;
    const waiting = await saysWhy('team-a', app);
    t.is(waiting.status!.phase, 'Pending');
    t.is(waiting.status!.reason, 'NoMatchingAgent');
    t.regex(
      waiting.status!.message,
      new RegExp(
        `^namespace team-a requires unprivileged builds; no agent that matches the build \\(no nodeSelector\\) runs builds in a user namespace \\(${hostIs}\\)$`,
      ),
    );
    const byField = await saysWhy('default', asks);
    t.is(byField.status!.reason, 'NoMatchingAgent');
    t.regex(
      byField.status!.message,
      new RegExp(
        `^config default/asks requires unprivileged builds \\(spec\\.security\\.unprivileged\\); no agent that matches the build \\(no nodeSelector\\) runs builds in a user namespace \\(${hostIs}\\)$`,
      ),
    );
    const ran = await finished(sw, 'default', free);
    t.is(ran.status!.phase, 'Complete', ran.status!.message);
    t.is(ran.status!.agent, host.config.name, 'a namespace without the policy still runs on the host agent');

    const expired = await finished(sw, 'team-a', hurried);
    t.is(expired.status!.phase, 'Failed');
    t.is(expired.status!.reason, 'NoMatchingAgent');
    t.regex(
      expired.status!.message,
      /^not placed on an agent within pendingDeadlineSeconds \(8 s\): namespace team-a requires unprivileged builds; no agent/,
    );
    t.is((await sw.client.getBuild('team-a', app)).status!.phase, 'Pending', 'still waiting, on no agent');

    // A dind agent whose private daemons (one per build) remap.
    const dindRoot = `/tmp/sw-unpriv-${unique()}`;
    t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
    const dind = await addAgent(t, sw, {
      settings: { executor: 'dind', dindMode: 'per-build', dindRoot, dindUserns: 'remap' },
    });
    for (const [ns, name] of [
      ['team-a', app],
      ['default', asks],
    ] as const) {
      const b = await finished(sw, ns, name);
      t.is(b.status!.phase, 'Complete', `${ns}/${name}: ${b.status!.message}`);
      t.is(b.status!.agent, dind.config.name, `${ns}/${name} ran on the dind agent`);
    }

    // Another build of the namespace, with the host agent idle: on the dind agent, and its RUN
    // step's process, seen from the node, is a uid of dockremap's subordinate range.
    const ranges = await remapRanges();
    t.truthy(ranges, 'the node has a dockremap user with ranges in /etc/subuid');
    const stepping = await start(sw, 'team-a', 'sleeper');
    const [pid] = await eventually(
      `the step's ${sleep.join(' ')} to run`,
      async () => {
        const pids = await processesRunning(sleep);
        return pids.length > 0 ? pids : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const uids = (status.split('\n').find((l) => l.startsWith('Uid:')) ?? '').split(/\s+/).slice(1).map(Number);
    t.log(`the step's process ${pid}: Uid ${uids.join(' ')}`);
    t.is(uids.length, 4);
    for (const uid of uids) {
      t.not(uid, 0);
      if (ranges) t.true(uid >= ranges.uid.start && uid < ranges.uid.start + ranges.uid.count, `uid ${uid} in range`);
    }
    process.kill(pid!, 'SIGKILL');
    await untilStepStopped(sleep, 30_000);
    const stepped = await finished(sw, 'team-a', stepping);
    t.is(stepped.status!.phase, 'Complete', stepped.status!.message);
    t.is(stepped.status!.agent, dind.config.name);
  },
);

test.serial(
  'backstop: an agent whose builds are root on the node fails a build of a policy namespace UnprivilegedRequired before it runs, whatever it advertised',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const repo = await git.createRepo('unpriv', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()}\n` });
    // A long grace: the agent heartbeats once (saying userns), then not until it claims.
    const sw = await startSlipway(t, {
      agents: 0,
      coordinator: { unprivilegedNamespaces: ['team-a'], agentGraceMs: 120_000 },
    });
    const host = new HostExecutor(env.dockerHost);
    let says: Isolation = 'userns';
    const overclaiming = overclaimingExecutor(env.dockerHost, { isolation: async () => says });
    const agent = await addAgent(t, sw, { executor: overclaiming, settings: { heartbeatIntervalMs: 600_000 } });
    // Placement goes by the heartbeat (userns); the agent's own check, by what its executor is now.
    says = await host.isolation();
    t.is(says, 'host-root', "the test environment's daemon does not remap");
    await config(sw, 'team-a', 'app', repo.uri);
    const name = await start(sw, 'team-a', 'app');
    const b = await finished(sw, 'team-a', name);
    t.is(b.status!.agent, agent.config.name, 'placed on the agent that said userns');
    t.is(b.status!.phase, 'Failed');
    t.is(b.status!.reason, 'UnprivilegedRequired', b.status!.message);
    t.is(
      b.status!.message,
      `namespace team-a requires unprivileged builds, and agent ${agent.config.name}'s builds run as root on the node (the node's shared Docker daemon): such a build runs only on an agent whose builds run in a user namespace (dind with SLIPWAY_DIND_USERNS=remap, or a remapped daemon)`,
    );
    t.deepEqual(
      b.status!.stages.map((s) => s.name),
      [],
      'nothing was fetched or built',
    );
  },
);

test.serial(
  "the chart's sidecar: an agent on a daemon it does not run says userns when that daemon remaps, and takes a policy namespace's builds",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const repo = await git.createRepo('unpriv', {
      Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN echo $N > /n\n`,
    });
    const sw = await startSlipway(t, { agents: 0, coordinator: { unprivilegedNamespaces: ['team-a'] } });
    const [remapped, rooted] = await Promise.all([startPrivateDaemon(t, 'remap'), startPrivateDaemon(t, 'off')]);
    t.is(await new HostExecutor(remapped.dockerHost, true).isolation(), 'userns');
    t.is(await new HostExecutor(rooted.dockerHost, true).isolation(), 'privileged-root');
    t.is(await new HostExecutor(env.dockerHost).isolation(), 'host-root');
    const rootedAgent = await addAgent(t, sw, { settings: { dockerHost: rooted.dockerHost, dockerPrivate: true } });
    const sidecar = await addAgent(t, sw, { settings: { dockerHost: remapped.dockerHost, dockerPrivate: true } });
    await config(sw, 'team-a', 'app', repo.uri);
    for (let i = 0; i < 2; i++) {
      const b = await finished(sw, 'team-a', await start(sw, 'team-a', 'app'));
      t.is(b.status!.phase, 'Complete', b.status!.message);
      t.is(b.status!.agent, sidecar.config.name, `not on ${rootedAgent.config.name}, whose daemon is root on the node`);
    }
  },
);

test('a heartbeat with an isolation the coordinator does not know is refused, naming the field; one it knows is recorded', async (t) => {
  const sw = await startSlipway(t, { agents: 0 });
  const agents = new (slipwayProto().slipway.v1.AgentService)(
    sw.coordinators[0]!.address,
    grpc.credentials.createInsecure(),
  ) as AgentServiceClient;
  t.teardown(() => agents.close());
  const beat = (isolation: string) =>
    new Promise<unknown>((resolve, reject) =>
      agents.Heartbeat({ agent: 'a', node: 'n', instance: 'r1', running: [], isolation }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  const err = await t.throwsAsync<grpc.ServiceError>(beat('rootful'));
  t.is(err?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(err!.details, /isolation: "rootful" is not one of userns, host-root, privileged-root/);
  t.is(await sw.coordinators[0]!.store.agents.get('a'), undefined);
  await beat('userns');
  t.is((await sw.coordinators[0]!.store.agents.get('a'))?.value.isolation, 'userns');
});
