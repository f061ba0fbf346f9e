import { randomBytes } from 'node:crypto';
import test from 'ava';
import { LABELS } from '../agent/build-runner.js';
import { environmentDocker, recordDaemonEvents } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { registryDigest } from './helpers/registry.js';
import { startRunCounter } from './helpers/run-counter.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const BUILDS = 20;

test('two coordinators and two agents run each of 20 builds started at once exactly once', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const slipway = await startSlipway(t, { coordinators: 2, agents: 2, concurrency: 3 });
  const docker = environmentDocker();
  // One RUN step a build and no cache: every execution of a build reports itself once to the
  // counter, under its build's number (a BuildKit step is no container the daemon would report).
  const counter = await startRunCounter(t);
  const repo = await git.createRepo('many', {
    Dockerfile: `FROM ${env.baseImage}\nARG N\nRUN ${counter.command('$N')} && echo build-$N > /n\n`,
  });
  const repository = `test/many-${randomBytes(4).toString('hex')}`;
  const names = Array.from({ length: BUILDS }, (_, i) => `many-${i}`);
  for (const [i, name] of names.entries()) {
    await slipway.client.createBuildConfig(
      dockerBuildConfig(name, repo.uri, `${env.registry}/${repository}:b${i}`, {
        noCache: true,
        buildArgs: [{ name: 'N', value: String(i) }],
      }),
    );
  }

  const recording = await recordDaemonEvents(docker);
  // Started at once, half through each coordinator.
  await Promise.all(
    names.map((name, i) => slipway.clientOf(i % 2).startBuild({ namespace: 'default', configName: name })),
  );
  const finals = await Promise.all(names.map((name) => slipway.client.waitForBuild('default', `${name}-1`)));
  const events = await recording.stop();

  for (const b of finals) t.is(b.status!.phase, 'Complete', `${b.metadata!.name}: ${b.status!.message}`);
  t.true(new Set(finals.map((b) => b.status!.agent)).size >= 1);
  for (const [i, b] of finals.entries()) t.is(await registryDigest(repository, `b${i}`), b.status!.output!.digest);

  // Count on the daemon and at the counter, not in state: each build tagged its image once (BuildKit's
  // export reports an `image tag` event carrying the image's labels), and its RUN step ran once.
  const tags = events.filter(
    (e) => e.type === 'image' && e.action === 'tag' && names.some((n) => e.attributes[LABELS.build] === `${n}-1`),
  );
  const perBuild = new Map<string, number>();
  for (const e of tags) perBuild.set(e.attributes[LABELS.build]!, (perBuild.get(e.attributes[LABELS.build]!) ?? 0) + 1);
  t.deepEqual(
    names.map((n) => [n, perBuild.get(`${n}-1`) ?? 0]),
    names.map((n) => [n, 1]),
  );
  const runs = counter.runs();
  t.deepEqual(
    names.map((_, i) => [String(i), runs.get(String(i)) ?? 0]),
    names.map((_, i) => [String(i), 1]),
  );
  t.deepEqual([...counter.hits().keys()].sort(), names.map((_, i) => `/run/${i}`).sort(), 'no other requests');
});
