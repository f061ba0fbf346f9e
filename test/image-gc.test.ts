import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import test from 'ava';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { LABELS } from '../agent/build-runner.js';
import { gcThresholds, resolveAgentConfig, type AgentConfig } from '../agent/config.js';
import { DockerRuntime } from '../agent/container-runtime/docker-runtime.js';
import { InvalidInputError } from '../common/errors.js';
import { daemonEventsSince, environmentDocker, imageExists } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { metricValue } from './helpers/metrics.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { eventually } from './helpers/eventually.js';
import { ALWAYS_COLLECT } from './helpers/gc.js';
import { untilStepPrinted } from './helpers/log-lines.js';

const unique = () => randomBytes(4).toString('hex');

/** Builds `dockerfile` into `tag` on `docker` directly, as someone on the node would: no Slipway labels. */
async function buildByHand(docker: Docker, dockerfile: string, tag: string): Promise<void> {
  const context = pack();
  context.entry({ name: 'Dockerfile' }, dockerfile);
  context.finalize();
  const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag });
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err, out) => {
      const failed = (out as { error?: string }[] | undefined)?.find((m) => m.error);
      if (err || failed) reject(err ?? new Error(failed!.error));
      else resolve(undefined);
    }),
  );
}

test.serial(
  "image GC over its threshold: Slipway's old images go; a hand-made image and one a running build uses stay",
  async (t) => {
    const env = testEnvironment();
    const docker = environmentDocker();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    // Usage is always above a 1-byte threshold: every round must collect, down to nothing.
    const agent = await addAgent(t, sw, { settings: ALWAYS_COLLECT });
    const id = unique();
    const images = {
      base: `${env.registry}/test/gc-base-${id}:v1`,
      user: `${env.registry}/test/gc-user-${id}:v1`,
      other: `${env.registry}/test/gc-other-${id}:v1`,
    };
    const hand = `by-hand/gc-${id}:v1`;
    await buildByHand(docker, `FROM ${env.baseImage}\nRUN echo ${id} > /hand\n`, hand);
    t.teardown(() =>
      docker
        .getImage(hand)
        .remove()
        .catch(() => {}),
    );

    // A base image built by Slipway, then a build FROM it that runs for a while.
    const base = await git.createRepo('base', { Dockerfile: `FROM ${env.baseImage}\nRUN echo base-${id} > /base\n` });
    const user = await git.createRepo('user', { Dockerfile: `FROM ${images.base}\nRUN echo user-${id} && sleep 20\n` });
    const other = await git.createRepo('other', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo other-${id} > /other\n`,
    });
    for (const [name, repo] of [
      ['base', base],
      ['user', user],
      ['other', other],
    ] as const) {
      await sw.client.createBuildConfig(dockerBuildConfig(name, repo.uri, images[name]));
    }
    await sw.client.startBuild({ namespace: 'default', configName: 'base' });
    t.is((await sw.client.waitForBuild('default', 'base-1')).status!.phase, 'Complete');
    // The round after the build (pressure) takes the finished build's image off the node.
    await eventually('the base image is collected', async () => !(await imageExists(docker, images.base)));

    await sw.client.startBuild({ namespace: 'default', configName: 'user' });
    await untilStepPrinted(sw.client, 'user-1', `user-${id}`); // it pulled the base image again and is running on it
    await sw.client.startBuild({ namespace: 'default', configName: 'other' });
    t.is((await sw.client.waitForBuild('default', 'other-1')).status!.phase, 'Complete');
    await eventually("the other build's image is collected", async () => !(await imageExists(docker, images.other)));
    t.is(
      (await sw.client.getBuild('default', 'user-1')).status!.phase,
      'Running',
      'the round ran while the user build was running',
    );
    t.true(await imageExists(docker, images.base), 'the image a running build stands on stays');
    t.true(await imageExists(docker, hand), 'an image made by hand stays');
    t.true(await imageExists(docker, env.baseImage), 'a base image Slipway did not create stays');

    t.is((await sw.client.waitForBuild('default', 'user-1')).status!.phase, 'Complete');
    await eventually(
      'the base and user images are collected once no build uses them',
      async () => !(await imageExists(docker, images.base)) && !(await imageExists(docker, images.user)),
    );
    t.true(await imageExists(docker, hand), 'the image made by hand still stays');

    const metrics = agent.metricsAddress!;
    // A round is counted when it ends, a moment after the removals the waits above saw.
    await eventually(
      'the rounds are counted',
      async () => ((await metricValue(metrics, 'slipway_agent_gc_runs_total', { trigger: 'pressure' })) ?? 0) >= 3,
    );
    t.true(
      (await metricValue(metrics, 'slipway_agent_gc_images_removed_total'))! >= 3,
      'base, other, user (base twice)',
    );
    t.true((await metricValue(metrics, 'slipway_agent_gc_reclaimed_bytes_total'))! > 0, 'bytes reclaimed');
    t.not(await metricValue(metrics, 'slipway_agent_image_disk_usage_bytes'), undefined);
  },
);

test.serial(
  'image GC keeps pinned images and images younger than the minimum age; removes stopped build containers',
  async (t) => {
    const env = testEnvironment();
    const docker = environmentDocker();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { agents: 0 });
    const id = unique();
    const pinned = `${env.registry}/test/gc-pinned-${id}:v1`;
    const young = `${env.registry}/test/gc-young-${id}:v1`;
    const gc = { gcHighThreshold: '1', gcLowThreshold: '0', gcIntervalMs: 3_600_000 };

    const repo = await git.createRepo('app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${id} > /app\n` });
    await sw.client.createBuildConfig(dockerBuildConfig('pinned', repo.uri, pinned));
    await sw.client.createBuildConfig(dockerBuildConfig('young', repo.uri, young));

    const first = await addAgent(t, sw, { settings: { ...gc, gcMinAgeMs: 0, gcPinnedImages: [pinned] } });
    await sw.client.startBuild({ namespace: 'default', configName: 'pinned' });
    t.is((await sw.client.waitForBuild('default', 'pinned-1')).status!.phase, 'Complete');
    await first.collectGarbage(); // the round after the build, if it still runs: the next one starts fresh
    // A stopped container an earlier build left behind (as a crashed agent would).
    const left = await docker.createContainer({
      Image: env.baseImage,
      Cmd: ['true'],
      Labels: { [LABELS.build]: `gone-${id}`, [LABELS.attempt]: '1', [LABELS.namespace]: 'default' },
    });
    t.teardown(() => left.remove({ force: true }).catch(() => {}));
    const round = await first.collectGarbage();
    t.truthy(round);
    t.true(round!.containersRemoved >= 1);
    t.true(await imageExists(docker, pinned), 'a pinned image stays');
    await t.throwsAsync(left.inspect(), undefined, 'the stopped build container is gone');
    await first.stop();

    const second = await addAgent(t, sw, { settings: { ...gc, gcMinAgeMs: 3_600_000 } });
    await sw.client.startBuild({ namespace: 'default', configName: 'young' });
    t.is((await sw.client.waitForBuild('default', 'young-1')).status!.phase, 'Complete');
    const later = await second.collectGarbage();
    t.is(later!.imagesRemoved, 0);
    t.true(await imageExists(docker, young), 'an image younger than the minimum age stays');
    for (const ref of [pinned, young])
      await docker
        .getImage(ref)
        .remove()
        .catch(() => {});
  },
);

test.serial("on a per-agent private daemon every image is Slipway's: GC takes the pulled base image too", async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t, { agents: 0 });
  const dindRoot = `/tmp/sw-gc-${unique()}`;
  t.teardown(() => rm(dindRoot, { recursive: true, force: true }));
  const agent = await addAgent(t, sw, {
    settings: {
      executor: 'dind',
      dindMode: 'per-agent',
      dindRoot,
      gcHighThreshold: '1',
      gcLowThreshold: '0',
      gcMinAgeMs: 0,
      gcIntervalMs: 3_600_000,
      metricsListen: '127.0.0.1:0',
    },
  });
  const repo = await git.createRepo('app', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} > /app\n` });
  await sw.client.createBuildConfig(dockerBuildConfig('app', repo.uri, `${env.registry}/test/gc-dind-${unique()}:v1`));
  const started = new Date(Date.now() - 1000);
  await sw.client.startBuild({ namespace: 'default', configName: 'app' });
  t.is((await sw.client.waitForBuild('default', 'app-1')).status!.phase, 'Complete');
  const [folder] = (await readdir(dindRoot)).filter((e) => e.startsWith('sw-'));
  const socketPath = `${dindRoot}/${folder}/docker.sock`;
  const privateDaemon = new DockerRuntime(`unix://${socketPath}`);
  // From the daemon's own events, not its image list: with a 1-byte threshold the round after
  // the build (pressure) may already have removed the base image.
  const pulled = (await daemonEventsSince(new Docker({ socketPath }), started)).filter(
    (e) => e.type === 'image' && e.action === 'pull',
  );
  t.true(
    pulled.some((e) => e.id === env.baseImage),
    `the build pulled its base image into the private daemon (pulls: ${pulled.map((e) => e.id).join(', ')})`,
  );

  // The round after the build (pressure) may be running still; this one joins or follows it.
  t.truthy(await agent.collectGarbage(), 'the per-agent daemon is a GC target');
  t.deepEqual(
    (await privateDaemon.diskUsage()).images.map((i) => i.tags),
    [],
    'nothing is left on the private daemon',
  );
  t.true(
    (await metricValue(agent.metricsAddress!, 'slipway_agent_gc_images_removed_total'))! >= 2,
    "the build's image and the base image it pulled",
  );
});

test('GC settings that make no sense are refused, naming the setting', (t) => {
  const refused = (settings: Partial<AgentConfig>) =>
    t.throws(() => resolveAgentConfig(settings), { instanceOf: InvalidInputError });
  t.regex(refused({ gcHighThreshold: 'lots' })!.message, /SLIPWAY_GC_HIGH_THRESHOLD: "lots" is neither a percentage/);
  t.regex(refused({ gcLowThreshold: '120%' })!.message, /SLIPWAY_GC_LOW_THRESHOLD: "120%" is more than 100%/);
  t.regex(
    refused({ gcHighThreshold: '20Gi', gcLowThreshold: '80%' })!.message,
    /SLIPWAY_GC_LOW_THRESHOLD: must be of the same kind/,
  );
  t.regex(
    refused({ gcHighThreshold: '70%', gcLowThreshold: '80%' })!.message,
    /SLIPWAY_GC_LOW_THRESHOLD: must not be above/,
  );
  t.regex(refused({ gcIntervalMs: 10 })!.message, /SLIPWAY_GC_INTERVAL_MS/);
  t.regex(refused({ metricsListen: 'nine' })!.message, /SLIPWAY_METRICS_ADDR/);
  t.deepEqual(gcThresholds(resolveAgentConfig({ gcHighThreshold: '20Gi', gcLowThreshold: '15Gi' })), {
    high: { bytes: 20 * 2 ** 30 },
    low: { bytes: 15 * 2 ** 30 },
  });
});
