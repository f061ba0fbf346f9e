import { randomBytes } from 'node:crypto';
import test from 'ava';
import { MAX_LOG_SNIPPET_BYTES } from '../api/types.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { storedText } from './helpers/stored-state.js';
import { stepOutput } from './helpers/log-lines.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');
const reasons = (b: Build__Output) => b.status!.events.map((e) => `${e.type}/${e.reason}`);

/** Stages in the order they ran, one after another, each inside the attempt's Running time. */
function checkStages(t: import('ava').ExecutionContext, b: Build__Output, names: string[]): void {
  const s = b.status!;
  t.deepEqual(
    s.stages.map((x) => x.name),
    names,
  );
  let previousEnd = Date.parse(s.startTimestamp);
  for (const stage of s.stages) {
    const start = Date.parse(stage.startTimestamp);
    t.true(stage.durationMs >= 0, `${stage.name} took ${stage.durationMs} ms`);
    t.true(start >= previousEnd, `${stage.name} starts at ${stage.startTimestamp}, before what came before it ended`);
    previousEnd = start + stage.durationMs;
  }
  t.true(
    previousEnd <= Date.parse(s.completionTimestamp),
    'the last stage ends before the build was reported finished',
  );
}

test.serial(
  'a build that completes has its four stages in order and the events Started, Pushed and Complete',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t);
    const repo = await git.createRepo('timed', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} > /x\n` });
    const repository = `test/timed-${unique()}`;
    const config = dockerBuildConfig('timed', repo.uri, `${env.registry}/${repository}:v1`);
    // forcePull: the PullImages stage pulls the base image even though the daemon has it.
    config.spec!.strategy!.docker!.forcePull = true;
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'timed' });
    const final = await sw.client.waitForBuild('default', 'timed-1');
    t.is(final.status!.phase, 'Complete', final.status!.message);

    checkStages(t, final, ['FetchInputs', 'PullImages', 'Build', 'PushImage']);
    t.deepEqual(reasons(final), [
      'Normal/Queued',
      'Normal/Placed',
      'Normal/Scheduled',
      'Normal/Started',
      'Normal/Pushed',
      'Normal/Complete',
    ]);
    const byReason = Object.fromEntries(final.status!.events.map((e) => [e.reason, e]));
    t.is(byReason.Pushed!.message, `pushed ${final.status!.output!.image}@${final.status!.output!.digest}`);
    t.regex(byReason.Placed!.message, /^attempt 1 placed on agent agent-0-\S+ \(node node-0\)/);
    t.regex(byReason.Scheduled!.message, /node-0/);
    t.is(byReason.Started!.timestamp, final.status!.stages[0]!.startTimestamp);
    t.is(final.status!.logSnippet, '', 'a complete build has no snippet');

    // The pull happened in PullImages, before the build's own output.
    const log: string[] = [];
    for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'timed-1' })) log.push(l.text);
    const pulled = log.findIndex((l) => l === `Pulling base image ${env.baseImage}`);
    const building = log.findIndex((l) => /^Building /.test(l));
    t.true(pulled >= 0 && pulled < building, log.join('\n'));
    t.false(
      log.slice(building).some((l) => /Pulling from/.test(l)),
      'the daemon pulled nothing itself during Build',
    );
  },
);

test.serial(
  'a failing RUN step: stages up to Build, a Failed event with its reason, and the last lines in the snippet',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t);
    const tag = unique();
    // 50 long lines: more than the snippet keeps by count and by bytes.
    const repo = await git.createRepo('broken', {
      Dockerfile: `FROM ${env.baseImage}\nRUN for i in $(seq 1 50); do echo "out-$i-${tag}-$(printf '%0200d' 0)"; done; echo "last words ${tag}"; exit 3\n`,
    });
    await sw.client.createBuildConfig(
      dockerBuildConfig('broken', repo.uri, `${env.registry}/test/broken-${unique()}:v1`),
    );
    await sw.client.startBuild({ namespace: 'default', configName: 'broken' });
    const final = await sw.client.waitForBuild('default', 'broken-1');
    t.is(final.status!.phase, 'Failed');
    t.is(final.status!.reason, 'BuildStepFailed');

    checkStages(t, final, ['FetchInputs', 'PullImages', 'Build']);
    t.deepEqual(reasons(final), [
      'Normal/Queued',
      'Normal/Placed',
      'Normal/Scheduled',
      'Normal/Started',
      'Warning/Failed',
    ]);
    t.regex(
      final.status!.events.at(-1)!.message,
      /^BuildStepFailed: build step "\[2\/2\] RUN for i in .*" failed with exit code 3$/,
    );

    const snippet = final.status!.logSnippet;
    t.true(Buffer.byteLength(snippet) <= MAX_LOG_SNIPPET_BYTES, `${Buffer.byteLength(snippet)} bytes`);
    const lines = snippet.split('\n');
    t.true(lines.length <= 20, `${lines.length} lines`);
    const printed = lines.map(stepOutput);
    t.true(printed.includes(`last words ${tag}`), snippet);
    t.true(
      printed.some((l) => l?.startsWith(`out-50-${tag}-`)),
      snippet,
    );
    t.false(
      printed.some((l) => l?.startsWith(`out-1-${tag}-`)),
      'early lines are not kept',
    );
    // The snippet is the end of the log as stored, before its outcome line.
    const log: string[] = [];
    for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: 'broken-1' })) log.push(l.text);
    t.regex(log.at(-1)!, /^Build failed: BuildStepFailed/);
    t.deepEqual(
      lines,
      log.slice(-1 - lines.length, -1).map((l, i) => (i === 0 ? l.slice(-lines[0]!.length) : l)),
    );
  },
);

test.serial(
  'a secret a failing RUN step prints is masked in the snippet, the events and the stored state',
  async (t) => {
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
    const repo = await git.createRepo('leaky-fail', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo "the password is ${password}" && echo "${Buffer.from(`builder:${password}`).toString('base64')}" && exit 1\n`,
    });
    const config = dockerBuildConfig('leaky-fail', repo.uri, `${env.registry}/test/leaky-fail-${unique()}:v1`);
    config.spec!.output!.pushSecret = { name: 'push' };
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'leaky-fail' });
    const final = await sw.client.waitForBuild('default', 'leaky-fail-1');
    t.is(final.status!.phase, 'Failed', final.status!.message);

    const snippet = final.status!.logSnippet;
    t.true(snippet.split('\n').map(stepOutput).includes('the password is ***'), snippet);
    t.true(snippet.split('\n').map(stepOutput).includes('***'), 'the base64 form is masked too');
    t.false(snippet.includes(password));
    t.false(JSON.stringify(final).includes(password), 'nor in the events, message or anything else of the build');
    const stored = await storedText(t, sw.natsUrl);
    for (const v of stored.values) t.false(v.text.includes(password), v.where);
  },
);
