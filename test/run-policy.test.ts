import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { SlipwayClient } from '../cli/client.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

/** Every build's final state, by name. */
async function finalStates(client: SlipwayClient, names: string[]): Promise<Map<string, Build__Output>> {
  const signal = AbortSignal.timeout(180_000);
  const finals = await Promise.all(names.map((n) => client.waitForBuild('default', n, signal)));
  return new Map(finals.map((b) => [b.metadata!.name, b]));
}

const time = (s: string | undefined) => {
  if (!s) throw new Error('timestamp missing');
  return new Date(s).getTime();
};

/** Waits until the build has left New (its controller gave it an attempt). */
async function started(client: SlipwayClient, name: string): Promise<void> {
  const signal = AbortSignal.timeout(60_000);
  for await (const b of client.watchBuild('default', name, signal)) if (b.status!.phase !== 'New') return;
}

/** A config whose builds take a couple of seconds and never come from the layer cache. */
async function slowConfig(
  t: Parameters<typeof startGitServer>[0],
  client: SlipwayClient,
  name: string,
  runPolicy: string,
): Promise<void> {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const repo = await git.createRepo(name, { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} && sleep 2\n` });
  const config = dockerBuildConfig(name, repo.uri, `${env.registry}/test/${name}-${unique()}:v1`, { noCache: true });
  config.spec!.runPolicy = runPolicy;
  await client.createBuildConfig(config);
}

test.serial(
  'SerialLatestOnly: of builds queued behind a running one only the newest runs, after it; the others end Superseded',
  async (t) => {
    // One agent that would run three builds at once: only the policy keeps them apart. Two
    // coordinators, whose controllers both decide on every build.
    const sw = await startSlipway(t, { coordinators: 2, concurrency: 3 });
    await slowConfig(t, sw.client, 'latest', 'SerialLatestOnly');

    await sw.client.startBuild({ namespace: 'default', configName: 'latest' });
    // The first is alone, so it starts; the next four are queued while it runs.
    await started(sw.client, 'latest-1');
    for (let i = 2; i <= 5; i++) await sw.clientOf(i % 2).startBuild({ namespace: 'default', configName: 'latest' });
    const queued = await sw.client.getBuild('default', 'latest-5');
    t.is(queued.status!.phase, 'New', 'latest-5 is queued while latest-1 runs');

    const finals = await finalStates(sw.client, ['latest-1', 'latest-2', 'latest-3', 'latest-4', 'latest-5']);
    const first = finals.get('latest-1')!;
    const last = finals.get('latest-5')!;
    t.is(first.status!.phase, 'Complete');
    t.is(last.status!.phase, 'Complete');
    for (const name of ['latest-2', 'latest-3', 'latest-4']) {
      const b = finals.get(name)!;
      t.is(b.status!.phase, 'Cancelled', name);
      t.is(b.status!.reason, 'Superseded', name);
      t.regex(b.status!.message, /latest-5/, `${name} names the build that replaced it`);
      t.is(b.status!.attempt, 0, `${name} never ran`);
      t.falsy(b.status!.startTimestamp, `${name} never ran`);
    }
    t.true(
      time(last.status!.startTimestamp) >= time(first.status!.completionTimestamp),
      'latest-5 started after latest-1 ended',
    );
  },
);

test.serial(
  'Serial: builds run one after another in creation order, never overlapping, each saying whom it waits for',
  async (t) => {
    const sw = await startSlipway(t, { coordinators: 2, concurrency: 3 });
    await slowConfig(t, sw.client, 'serial', 'Serial');

    for (let i = 1; i <= 3; i++) await sw.clientOf(i % 2).startBuild({ namespace: 'default', configName: 'serial' });
    // What the third build says while it waits.
    const seen: Build__Output[] = [];
    const watching = (async () => {
      for await (const b of sw.client.watchBuild('default', 'serial-3', AbortSignal.timeout(180_000))) seen.push(b);
    })();
    const finals = await finalStates(sw.client, ['serial-1', 'serial-2', 'serial-3']);
    await watching;

    const [b1, b2, b3] = ['serial-1', 'serial-2', 'serial-3'].map((n) => finals.get(n)!);
    for (const b of [b1!, b2!, b3!]) t.is(b.status!.phase, 'Complete', b.metadata!.name);
    t.true(
      time(b2!.status!.startTimestamp) >= time(b1!.status!.completionTimestamp),
      'serial-2 started after serial-1 ended',
    );
    t.true(
      time(b3!.status!.startTimestamp) >= time(b2!.status!.completionTimestamp),
      'serial-3 started after serial-2 ended',
    );

    const waiting = seen.filter((b) => b.status!.phase === 'New' && b.status!.reason === 'WaitingForPreviousBuild');
    t.true(waiting.length > 0, 'serial-3 said it was waiting');
    t.regex(waiting[0]!.status!.message, /waiting for build serial-2/);
    // Written only when it changes: the same message is never stored twice in a row.
    const messages = seen.filter((b) => b.status!.phase === 'New').map((b) => b.status!.message);
    t.deepEqual(
      messages.filter((m, i) => i > 0 && m === messages[i - 1]),
      [],
    );
  },
);
