import { randomBytes } from 'node:crypto';
import test from 'ava';
import type Docker from 'dockerode';
import type { SlipwayClient } from '../cli/client.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { eventually } from './helpers/eventually.js';
import { ALWAYS_COLLECT } from './helpers/gc.js';
import { metricValue } from './helpers/metrics.js';
import { startGitServer } from './helpers/git-server.js';
import { stepOutput } from './helpers/log-lines.js';
import { addAgent, agentDaemon, dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

async function logOf(client: SlipwayClient, name: string, namespace = 'default'): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of client.streamBuildLogs({ namespace, name })) lines.push(l.text);
  return lines;
}

/**
 * A Dockerfile whose dependency stage appends a line of its own to a cache mount, then prints the
 * mount's whole file. The source's `lockfile` comes first, so a change to it reruns the step (as a
 * real project's dependency step reruns when its lock file changes). Not `noCache`: on dockerd
 * 20.10 BuildKit starts cache mounts empty too when told to ignore the cache.
 */
function cacheMountDockerfile(base: string, mark: string): string {
  return [
    `FROM ${base} AS deps`,
    `COPY lockfile /lockfile`,
    `RUN --mount=type=cache,target=/cache sh -c 'echo "${mark} $(cat /proc/sys/kernel/random/uuid)" >> /cache/runs; cat /cache/runs'`,
    `RUN echo deps > /deps`,
    `FROM ${base}`,
    `COPY --from=deps /deps /deps`,
    '',
  ].join('\n');
}

/** BuildKit's cache-mount records on a daemon (asked again while the daemon runs another caller's disk usage). */
async function cacheMounts(docker: Docker): Promise<unknown[]> {
  const df = await eventually('the disk usage', () =>
    docker.df().catch((err: Error) => {
      if (/disk usage operation is already running/.test(err.message)) return undefined;
      throw err;
    }),
  );
  return ((df as { BuildCache?: { Type: string }[] | null }).BuildCache ?? []).filter(
    (c) => c.Type === 'exec.cachemount',
  );
}

test.serial(
  "a cache mount keeps a build's writes for the next build of the config; the log reads like --progress=plain",
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t);
    const mark = `cached-${unique()}`;
    const files = { Dockerfile: cacheMountDockerfile(env.baseImage, mark), lockfile: unique() };
    const repo = await git.createRepo('cachemount', files);
    await sw.client.createBuildConfig(
      dockerBuildConfig('cachemount', repo.uri, `${env.registry}/test/cachemount-${unique()}:v1`),
    );
    const written: string[] = [];
    for (const n of [1, 2]) {
      if (n > 1) await git.pushCommit('cachemount', { lockfile: unique() });
      await sw.client.startBuild({ namespace: 'default', configName: 'cachemount' });
      const final = await sw.client.waitForBuild('default', `cachemount-${n}`);
      t.is(final.status!.phase, 'Complete', final.status!.message);
      const log = await logOf(sw.client, `cachemount-${n}`);
      const seen = log.map(stepOutput).filter((l) => l?.startsWith(mark));
      // The build sees every line written so far: the earlier builds' and its own.
      t.is(seen.length, n, log.join('\n'));
      t.deepEqual(seen.slice(0, -1), written, `build ${n} sees what the builds before it wrote`);
      written.push(seen.at(-1)!);

      // Plain progress: each step announced as "#N [stage i/n] …", its output, then DONE.
      const steps = log.filter((l) => /^#\d+ /.test(l));
      const run = steps.find((l) =>
        /^#\d+ \[deps 3\/4\] RUN --mount=type=cache,target=\/cache,id=slipway\/default\/\/cache /.test(l),
      );
      t.truthy(run, steps.join('\n'));
      const number = run!.split(' ')[0]!;
      const ofRun = steps.filter((l) => l.startsWith(`${number} `));
      t.is(ofRun[0], run!);
      t.regex(ofRun.at(-1)!, new RegExp(`^${number} DONE \\d+\\.\\ds$`));
      t.true(
        steps.some((l) => /^#\d+ \[stage-1 2\/2\] COPY --from=deps \/deps \/deps$/.test(l)),
        'the final stage is named',
      );
      const firstSeen = [...new Set(steps.map((l) => Number(l.slice(1, l.indexOf(' ')))))];
      t.deepEqual(
        firstSeen,
        firstSeen.map((_, i) => i + 1),
        'steps are numbered in the order they first appear',
      );
    }
    t.true(
      (await cacheMounts(await agentDaemon(sw.agents[0]!))).length > 0,
      'the cache mount is in the daemon’s build cache',
    );

    // Another namespace's build of the same Dockerfile on the same daemon finds the cache empty.
    const other = dockerBuildConfig('cachemount', repo.uri, `${env.registry}/test/cachemount-other-${unique()}:v1`);
    other.metadata!.namespace = 'other-team';
    await sw.client.createBuildConfig(other);
    await sw.client.startBuild({ namespace: 'other-team', configName: 'cachemount' });
    const theirs = await sw.client.waitForBuild('other-team', 'cachemount-1');
    t.is(theirs.status!.phase, 'Complete', theirs.status!.message);
    const theirLines = (await logOf(sw.client, 'cachemount-1', 'other-team'))
      .map(stepOutput)
      .filter((l) => l?.startsWith(mark));
    t.is(theirLines.length, 1, "a namespace's cache mounts are its own");
  },
);

test.serial('image GC under pressure prunes cache mounts with the rest of the build cache', async (t) => {
  const env = testEnvironment();
  const docker = environmentDocker();
  const git = await startGitServer(t);
  const sw = await startSlipway(t, { agents: 0 });
  // Usage is always above a 1-byte threshold: the round after each build collects.
  const agent = await addAgent(t, sw, { settings: ALWAYS_COLLECT });
  const rounds = async () =>
    (await metricValue(agent.metricsAddress!, 'slipway_agent_gc_runs_total', { trigger: 'pressure' })) ?? 0;
  const mark = `pruned-${unique()}`;
  const repo = await git.createRepo('gc-cachemount', {
    Dockerfile: cacheMountDockerfile(env.baseImage, mark),
    lockfile: unique(),
  });
  await sw.client.createBuildConfig(
    dockerBuildConfig('gc-cachemount', repo.uri, `${env.registry}/test/gc-cachemount-${unique()}:v1`),
  );
  for (const n of [1, 2]) {
    if (n > 1) await git.pushCommit('gc-cachemount', { lockfile: unique() });
    const before = await rounds();
    await sw.client.startBuild({ namespace: 'default', configName: 'gc-cachemount' });
    const final = await sw.client.waitForBuild('default', `gc-cachemount-${n}`);
    t.is(final.status!.phase, 'Complete', final.status!.message);
    const seen = (await logOf(sw.client, `gc-cachemount-${n}`)).map(stepOutput).filter((l) => l?.startsWith(mark));
    t.is(seen.length, 1, `build ${n} finds the cache mount empty: GC pruned what build ${n - 1} wrote`);
    // The round after the build has ended (it is counted then): it cannot prune what the next
    // build uploads.
    await eventually(`a GC round after build ${n}`, async () => (await rounds()) > before);
    t.deepEqual(await cacheMounts(docker), [], 'the round pruned the cache mount');
  }
});
