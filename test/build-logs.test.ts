import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { run } from './helpers/processes.js';
import { storedText } from './helpers/stored-state.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { stepOutput, untilLogLine } from './helpers/log-lines.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/slipway.js');
const LINES = 40;

test.serial('logs -f joined mid-build shows every line once, in order, and the log outlives the agent', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const repo = await git.createRepo('chatty', {
    Dockerfile: `FROM ${env.baseImage}\nRUN for i in $(seq 1 ${LINES}); do echo line-$i; sleep 0.1; done\n`,
  });
  await sw.client.createBuildConfig(
    dockerBuildConfig('chatty', repo.uri, `${env.registry}/test/chatty-${randomBytes(4).toString('hex')}:v1`, {
      noCache: true,
    }),
  );
  await sw.client.startBuild({ namespace: 'default', configName: 'chatty' });

  // Join once the build has printed some of its lines.
  await untilLogLine(sw.client, 'chatty-1', /^#\d+ \d+\.\d{3} line-5$/);
  const followed = await run(process.execPath, [
    BIN,
    '--server',
    sw.coordinators[0]!.address,
    'logs',
    'chatty-1',
    '-f',
  ]);
  const final = await sw.client.getBuild('default', 'chatty-1');
  t.is(final.status!.phase, 'Complete');

  const lines = followed.split('\n').slice(0, -1);
  t.is(lines.length, Number(final.status!.logLines));
  const numbered = lines.map(stepOutput).filter((l) => l !== undefined && /^line-\d+$/.test(l));
  t.deepEqual(
    numbered,
    Array.from({ length: LINES }, (_, i) => `line-${i + 1}`),
  );
  t.regex(lines[0]!, /^Fetching git:/);
  t.regex(lines.at(-1)!, /^Build complete: /);

  // Reconnecting from a line gives the rest, nothing twice.
  const rest: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'chatty-1', fromLine: 11 }))
    rest.push(l.text);
  t.deepEqual(rest, lines.slice(10));

  // The agent is gone; the log is still there.
  await sw.agents[0]!.stop();
  const after: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'chatty-1' })) after.push(l.text);
  t.deepEqual(after, lines);
});

test.serial('a registry password echoed by a RUN step never reaches the stored log or state', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await sw.client.createSecret({
    metadata: { name: 'push' },
    type: 'docker-registry',
    registry: env.registry,
    username: 'builder',
    password,
  });
  const repo = await git.createRepo('leaky', {
    Dockerfile: `FROM ${env.baseImage}\nRUN echo "the password is ${password}" && echo "${Buffer.from(`builder:${password}`).toString('base64')}"\n`,
  });
  const config = dockerBuildConfig(
    'leaky',
    repo.uri,
    `${env.registry}/test/leaky-${randomBytes(4).toString('hex')}:v1`,
  );
  config.spec!.output!.pushSecret = { name: 'push' };
  await sw.client.createBuildConfig(config);
  await sw.client.startBuild({ namespace: 'default', configName: 'leaky' });
  const final = await sw.client.waitForBuild('default', 'leaky-1');
  t.is(final.status!.phase, 'Complete', final.status!.message);

  const lines: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'leaky-1' })) lines.push(l.text);
  t.true(lines.map(stepOutput).includes('the password is ***'), lines.join('\n'));
  t.false(lines.join('\n').includes(password));

  // Nowhere in NATS: not in the log stream's raw messages, the build's state, or the secret's entry.
  const stored = await storedText(t, sw.natsUrl);
  t.true(stored.logs.length > 0);
  t.false(stored.logs.join('\n').includes(password));
  for (const v of stored.values) t.false(v.text.includes(password), v.where);
});

test.serial('a build printing 60,000 lines at full speed has each of them whole, once, in order', async (t) => {
  const env = testEnvironment();
  const git = await startGitServer(t);
  const sw = await startSlipway(t);
  const count = 60_000;
  // The daemon's stream comes in pieces that end mid-line: they must be joined, not cut.
  const repo = await git.createRepo('flood', {
    Dockerfile: `FROM ${env.baseImage}\nRUN seq 1 ${count} | sed 's/^/n-/'\n`,
  });
  await sw.client.createBuildConfig(
    dockerBuildConfig('flood', repo.uri, `${env.registry}/test/flood-${randomBytes(4).toString('hex')}:v1`, {
      noCache: true,
    }),
  );
  const b = await sw.client.startBuild({ namespace: 'default', configName: 'flood' });
  const final = await sw.client.waitForBuild('default', b.metadata!.name);
  t.is(final.status!.phase, 'Complete');
  const printed: string[] = [];
  for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: b.metadata!.name }))
    if (stepOutput(l.text)?.startsWith('n-')) printed.push(stepOutput(l.text)!);
  t.is(printed.length, count);
  const wrong = printed.findIndex((l, i) => l !== `n-${i + 1}`);
  t.is(wrong, -1, `line ${wrong + 1} reads "${printed[wrong]}"`);
});
