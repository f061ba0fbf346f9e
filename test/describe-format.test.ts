import test from 'ava';
import { buildDuration, describeBuild, longestStageCell } from '../cli/format.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';

const now = new Date('2026-01-01T00:10:00Z');

/** A failed build as BuildService returns it (proto3 defaults filled in). */
function failedBuild(): Build__Output {
  return {
    metadata: {
      name: 'app-3',
      namespace: 'default',
      uid: 'u',
      resourceVersion: '9',
      creationTimestamp: '2026-01-01T00:00:00Z',
      generation: 1,
      labels: {},
      annotations: {},
    },
    spec: {
      configName: 'app',
      configGeneration: 2,
      config: {
        source: { git: { uri: 'git://h/r', ref: 'main' } },
        strategy: { docker: {} },
        output: { image: 'r/a:v', platforms: [] },
      },
      triggeredBy: [
        {
          type: 'GitHub',
          message: 'GitHub push of refs/heads/main at 1a2b3c4',
          git: { ref: 'refs/heads/main', commit: '1a2b3c4d5e', deliveryId: 'd-1' },
          imageChange: null,
        },
        {
          type: 'ImageChange',
          message: 'new base image',
          git: null,
          imageChange: { image: 'r/base:1', digest: 'sha256:' + 'f'.repeat(64) },
        },
      ],
    },
    status: {
      phase: 'Failed',
      reason: 'BuildStepFailed',
      message: 'exit 2',
      attempt: 1,
      agent: 'agent-a',
      node: 'node-a',
      queuedTimestamp: '2026-01-01T00:00:01Z',
      startTimestamp: '2026-01-01T00:00:02Z',
      completionTimestamp: '2026-01-01T00:01:32Z',
      exitCode: 2,
      output: null,
      platforms: [],
      commit: '1a2b3c4d5e',
      cancelRequested: false,
      logLines: 40,
      stages: [
        { name: 'FetchInputs', startTimestamp: '2026-01-01T00:00:02.100Z', durationMs: 900 },
        { name: 'PullImages', startTimestamp: '2026-01-01T00:00:03.000Z', durationMs: 12_000 },
        { name: 'Build', startTimestamp: '2026-01-01T00:00:15.000Z', durationMs: 77_000 },
      ],
      logSnippet: 'make: *** [app] Error 2',
      events: [
        { type: 'Normal', reason: 'Queued', message: 'attempt 1 queued', timestamp: '2026-01-01T00:00:01Z' },
        {
          type: 'Warning',
          reason: 'Failed',
          message: 'BuildStepFailed: exit 2\n  at step 3',
          timestamp: '2026-01-01T00:01:32Z',
        },
      ],
    },
  } as unknown as Build__Output;
}

test('describe shows each cause with its commit or image digest, the stages, the events with their ages, and the snippet', (t) => {
  const out = describeBuild(failedBuild(), now);
  t.regex(
    out,
    /\nCause:\n  GitHub       GitHub push of refs\/heads\/main at 1a2b3c4 \(commit 1a2b3c4d5e, ref refs\/heads\/main\)\n  ImageChange  new base image \(image r\/base:1@sha256:f{64}\)\n/,
  );
  t.regex(
    out,
    /\nStages:\n  STAGE\s+STARTED\s+DURATION\n  FetchInputs\s+2026-01-01T00:00:02.100Z\s+0\.9s\n  PullImages\s+\S+\s+12\.0s\n  Build\s+\S+\s+77s\n/,
  );
  t.regex(
    out,
    /\nEvents:\n  TYPE\s+REASON\s+AGE\s+MESSAGE\n  Normal\s+Queued\s+9m\s+attempt 1 queued\n  Warning\s+Failed\s+8m\s+BuildStepFailed: exit 2 at step 3\n/,
  );
  t.regex(out, /\nLog snippet:\n  make: \*\*\* \[app\] Error 2\n$/);
});

test('a build without stages, events or causes says <none> and Manual; get builds shows the longest stage', (t) => {
  const b = failedBuild();
  b.spec!.triggeredBy = [];
  b.status!.stages = [];
  b.status!.events = [];
  b.status!.logSnippet = '';
  const out = describeBuild(b, now);
  t.regex(out, /\nCause:\n  Manual\n/);
  t.regex(out, /\nStages:  <none>\nEvents:  <none>\n$/);
  t.is(longestStageCell(b), '-');
  t.is(longestStageCell(failedBuild()), 'Build 77s');
  t.is(buildDuration(failedBuild(), now), '90s');
});

test('a build waiting after a hand-back shows why it waits and, on a line of its own, how the attempt before ended', (t) => {
  const b = failedBuild();
  Object.assign(b.status!, {
    phase: 'Pending',
    reason: 'NoMatchingAgent',
    message: 'no live agent',
    attempt: 2,
    previousAttempt: {
      attempt: 1,
      reason: 'AgentShutdown',
      message: 'the agent shut down before the build finished',
      agent: 'agent-a',
      node: 'node-a',
      completionTimestamp: '2026-01-01T00:09:30Z',
    },
  });
  const out = describeBuild(b, now);
  t.regex(out, /\nReason:\s+NoMatchingAgent\n/);
  t.regex(
    out,
    /\nPrevious attempt:\s+1 on agent agent-a \(node node-a\), 30s ago: AgentShutdown: the agent shut down before the build finished\n/,
  );
  t.notRegex(describeBuild(failedBuild(), now), /Previous attempt/);
});

test('describe names the source images, their paths and the digests the build resolved them to', (t) => {
  const b = failedBuild();
  const digest = 'sha256:' + 'a'.repeat(64);
  Object.assign(b.spec!.config!.source!, {
    images: [
      {
        from: 'r/deps:v1',
        pullSecret: null,
        paths: [
          { sourcePath: '/opt/.', destinationDir: 'vendor' },
          { sourcePath: '/bin/tool', destinationDir: '' },
        ],
      },
      { from: 'r/other:v2', pullSecret: null, paths: [{ sourcePath: '/x', destinationDir: '' }] },
    ],
  });
  Object.assign(b.status!, { sourceImages: [{ from: 'r/deps:v1', digest }] });
  t.regex(
    describeBuild(b, now),
    new RegExp(
      `\\nSource images:\\s+r/deps:v1 \\(${digest}\\): /opt/\\. -> vendor, /bin/tool -> \\.; r/other:v2: /x -> \\.\\n`,
    ),
  );
  t.notRegex(describeBuild(failedBuild(), now), /Source images/);
});
