import { randomBytes } from 'node:crypto';
import test from 'ava';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { SlipwayClient } from '../cli/client.js';
import { LOGS_STREAM, LOGS_SUBJECT_PREFIX } from '../common/nats/logs.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import type { Teardowns } from './helpers/teardowns.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { eventually } from './helpers/eventually.js';

const unique = () => randomBytes(4).toString('hex');

/** Messages the log stream holds for each build's subjects, by build name (absent: none). */
async function storedLogs(t: Teardowns, natsUrl: string): Promise<Map<string, number>> {
  const nc = await connect({ servers: natsUrl });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(LOGS_STREAM, { subjects_filter: `${LOGS_SUBJECT_PREFIX}.>` });
  const byBuild = new Map<string, number>();
  for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
    const build = subject.split('.')[3]!;
    byBuild.set(build, (byBuild.get(build) ?? 0) + count);
  }
  return byBuild;
}

async function logLines(client: SlipwayClient, name: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of client.streamBuildLogs({ namespace: 'default', name })) lines.push(l.text);
  return lines;
}

/** Runs one build of the config to its end; returns its name and final phase. */
async function runBuild(client: SlipwayClient, config: string): Promise<{ name: string; phase: string }> {
  const started = await client.startBuild({ namespace: 'default', configName: config });
  const final = await client.waitForBuild('default', started.metadata!.name, AbortSignal.timeout(120_000));
  return { name: final.metadata!.name, phase: final.status!.phase };
}

/** The names of the config's builds once pruning has settled to at most `expected` of them. */
async function remainingBuilds(client: SlipwayClient, config: string, expected: number): Promise<string[]> {
  let names: string[] = [];
  await eventually(
    `at most ${expected} builds of ${config}`,
    async () => {
      names = (await client.listBuilds({ namespace: 'default', configName: config })).map((b) => b.metadata!.name);
      return names.length <= expected;
    },
    { timeoutMs: 30_000, detail: () => names },
  );
  return names.sort();
}

test.serial(
  'history limits keep the newest successful and failed builds with their logs, and prune the rest with theirs',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    // Two coordinators: both prune after every build that ends, at once.
    const sw = await startSlipway(t, { coordinators: 2 });
    const repo = await git.createRepo('history', {
      Dockerfile: `FROM ${env.baseImage}\nARG FAIL=0\nRUN echo ${unique()} && test "$FAIL" != 1\n`,
    });
    const config = dockerBuildConfig('history', repo.uri, `${env.registry}/test/history-${unique()}:v1`, {
      buildArgs: [{ name: 'FAIL', value: '0' }],
    });
    config.spec!.successfulBuildsHistoryLimit = 2;
    config.spec!.failedBuildsHistoryLimit = 1;
    await sw.client.createBuildConfig(config);

    // One at a time, so that completion order is number order; each build's log is there once it ended.
    const runs: { name: string; phase: string }[] = [];
    for (let i = 0; i < 4; i++) runs.push(await runBuild(sw.client, 'history'));
    const current = await sw.client.getBuildConfig('default', 'history');
    await sw.client.updateBuildConfig({
      ...current,
      spec: { ...current.spec!, strategy: { docker: { buildArgs: [{ name: 'FAIL', value: '1' }] } } },
    });
    for (let i = 0; i < 3; i++) runs.push(await runBuild(sw.client, 'history'));
    t.deepEqual(
      runs.map((r) => r.phase),
      ['Complete', 'Complete', 'Complete', 'Complete', 'Failed', 'Failed', 'Failed'],
    );

    const kept = await remainingBuilds(sw.client, 'history', 3);
    t.deepEqual(kept, ['history-3', 'history-4', 'history-7']);
    for (const name of kept) t.true((await logLines(sw.client, name)).length > 0, `${name}'s log is readable`);
    t.true(
      (await logLines(sw.client, 'history-7')).some((l) => /exit code|returned a non-zero code|non-zero/.test(l)),
      "history-7's log shows why it failed",
    );
    const logs = await storedLogs(t, sw.natsUrl);
    for (const name of kept) t.true((logs.get(name) ?? 0) > 0, `${name}'s log is in the stream`);
    for (const name of ['history-1', 'history-2', 'history-5', 'history-6'])
      t.false(logs.has(name), `${name}'s log was purged`);
  },
);

test.serial('a history limit of 0 keeps no finished build, nor its log', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const repo = await git.createRepo('nohistory', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()}\n` });
  const config = dockerBuildConfig('nohistory', repo.uri, `${env.registry}/test/nohistory-${unique()}:v1`);
  config.spec!.successfulBuildsHistoryLimit = 0;
  await sw.client.createBuildConfig(config);
  // 0 is a limit, not "not set".
  t.is((await sw.client.getBuildConfig('default', 'nohistory')).spec!.successfulBuildsHistoryLimit, 0);

  const run = await runBuild(sw.client, 'nohistory');
  t.is(run.phase, 'Complete');
  t.deepEqual(await remainingBuilds(sw.client, 'nohistory', 0), []);
  t.false((await storedLogs(t, sw.natsUrl)).has(run.name), 'its log was purged');
});

test.serial('deleting a build through the Kubernetes API removes its logs too', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t, { coordinator: { kubeApiListen: '127.0.0.1:0' } });
  const repo = await git.createRepo('deleted', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()}\n` });
  await sw.client.createBuildConfig(
    dockerBuildConfig('deleted', repo.uri, `${env.registry}/test/deleted-${unique()}:v1`),
  );
  const kept = await runBuild(sw.client, 'deleted');
  const gone = await runBuild(sw.client, 'deleted');
  const before = await storedLogs(t, sw.natsUrl);
  t.true((before.get(gone.name) ?? 0) > 0);

  const res = await fetch(
    `http://${sw.coordinators[0]!.kubeApi!.address}/apis/build.slipway.dev/v1/namespaces/default/builds/${gone.name}`,
    { method: 'DELETE' },
  );
  t.is(res.status, 200, await res.text());
  const after = await storedLogs(t, sw.natsUrl);
  t.false(after.has(gone.name), 'the deleted build has no log left');
  t.is(after.get(kept.name), before.get(kept.name), "the other build's log is untouched");
});
