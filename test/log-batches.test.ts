import * as grpc from '@grpc/grpc-js';
import { connect } from '@nats-io/transport-node';
import test, { type ExecutionContext } from 'ava';
import { LogPublisher, MAX_LOG_LINE_CHARS, type LogPublisherOptions } from '../agent/logs/log-publisher.js';
import { LogTail } from '../agent/logs/log-tail.js';
import { SecretMasker } from '../agent/logs/secret-masker.js';
import type { SlipwayClient } from '../cli/client.js';
import { slipwayProto } from '../common/grpc/proto.js';
import { silentLogger } from '../common/log.js';
import type { LogLine__Output } from '../proto/generated/slipway/v1/LogLine.js';
import type { StreamBuildLogsRequest } from '../proto/generated/slipway/v1/StreamBuildLogsRequest.js';
import { eventually } from './helpers/eventually.js';
import { dockerBuildConfig, startSlipway, type Slipway } from './helpers/slipway.js';

const SECRET = 'hunter2-but-longer';
const LINES = 1200;
/** Small chunks, so a log of a few hundred lines crosses many batch boundaries. */
const CHUNK_BYTES = 64;
/** Longer than a chunk may be: it ends the chunk it is in, whole. */
const LONG = `long-${'x'.repeat(CHUNK_BYTES * 8)}-end`;

/** The log a publisher writes: numbered lines, one too long for a chunk, a secret on lines of several chunks. */
function written(): string[] {
  return Array.from({ length: LINES }, (_, i) => {
    const n = i + 1;
    if (n === 301) return LONG;
    if (n % 97 === 0) return `token ${SECRET} on ${n}`;
    return `line-${n}`;
  });
}

/** What the log must read: the written lines, the secret masked wherever it was. */
function expected(): string[] {
  return written().map((l) => l.replace(SECRET, '***'));
}

/** A build that stays Pending at attempt 1 (no agent takes it): its log is written by the test. */
async function pendingBuild(t: ExecutionContext): Promise<{ sw: Slipway; name: string }> {
  const sw = await startSlipway(t, { agents: 0 });
  await sw.client.createBuildConfig(dockerBuildConfig('app', 'git://127.0.0.1:1/none', 'registry.invalid/app:v1'));
  const name = (await sw.client.startBuild({ namespace: 'default', configName: 'app' })).metadata!.name;
  await eventually('the build to be at attempt 1', async () => {
    const b = await sw.client.getBuild('default', name);
    return b.status!.attempt === 1;
  });
  return { sw, name };
}

/**
 * A publisher of attempt 1 of `name`'s log on the test's NATS, masking SECRET, as the agent makes
 * one; `o` adds the chunking and tail a test wants.
 */
async function publisherFor(
  t: ExecutionContext,
  sw: Slipway,
  name: string,
  o: Partial<LogPublisherOptions> = {},
): Promise<LogPublisher> {
  const nc = await connect({ servers: sw.natsUrl });
  t.teardown(() => nc.close());
  return new LogPublisher(nc, {
    namespace: 'default',
    build: name,
    attempt: 1,
    masker: new SecretMasker([{ password: SECRET }]),
    log: silentLogger,
    ...o,
  });
}

async function collect(lines: AsyncIterable<LogLine__Output>): Promise<LogLine__Output[]> {
  const out: LogLine__Output[] = [];
  for await (const l of lines) out.push(l);
  return out;
}

/** The messages of one StreamBuildLogs call as they come over the wire, not expanded. */
async function rawMessages(sw: Slipway, req: StreamBuildLogsRequest): Promise<LogLine__Output[]> {
  const client = new (slipwayProto().slipway.v1.BuildService)(
    sw.coordinators[0]!.address,
    grpc.credentials.createInsecure(),
  );
  try {
    return await collect(client.StreamBuildLogs(req) as AsyncIterable<LogLine__Output>);
  } finally {
    client.close();
  }
}

function follow(client: SlipwayClient, name: string, fromLine = 0): Promise<LogLine__Output[]> {
  return collect(client.streamBuildLogs({ namespace: 'default', name, follow: true, fromLine }));
}

/** Fails unless `got` are lines `from`… of `want`, numbered so, each once, in order, whole. */
function assertLines(t: ExecutionContext, got: LogLine__Output[], want: string[], from = 1) {
  t.deepEqual(
    got.map((l) => l.text),
    want.slice(from - 1),
  );
  const misnumbered = got.findIndex((l, i) => l.line !== from + i || l.attempt !== 1);
  t.is(misnumbered, -1, `line ${misnumbered} is numbered ${got[misnumbered]?.line}`);
  t.true(
    got.every((l) => l.nextTexts.length === 0),
    'the client yields single lines',
  );
}

test.serial(
  'followers from the start and from a line inside a batch get each line whole, once, in order, masked',
  async (t) => {
    const { sw, name } = await pendingBuild(t);
    const tail = new LogTail();
    const publisher = await publisherFor(t, sw, name, { tail, maxChunkBytes: CHUNK_BYTES, flushIntervalMs: 5 });

    const fromStart = follow(sw.client, name);
    const lines = written();
    for (const l of lines.slice(0, LINES / 2)) publisher.write(l);
    // Join mid-log, at a line inside a chunk (chunks of 64 bytes hold several of these lines).
    await eventually('half the log to be stored', async () => {
      const stored = await collect(sw.client.streamBuildLogs({ namespace: 'default', name }));
      return stored.length === LINES / 2;
    });
    const joinAt = 357;
    const midway = follow(sw.client, name, joinAt);
    for (const l of lines.slice(LINES / 2)) publisher.write(l);
    t.is(await publisher.close(), LINES);

    assertLines(t, await fromStart, expected());
    assertLines(t, await midway, expected(), joinAt);
    t.is(tail.text(), expected().slice(-20).join('\n'));
  },
);

test.serial(
  'a batched reader gets lines several to a message; one that does not ask gets one a message, the same lines',
  async (t) => {
    const { sw, name } = await pendingBuild(t);
    const publisher = await publisherFor(t, sw, name, { maxChunkBytes: CHUNK_BYTES });
    for (const l of written()) publisher.write(l);
    await publisher.close();

    const batched = await rawMessages(sw, { namespace: 'default', name, batched: true, fromLine: 5 });
    t.true(batched.length > 1 && batched.length < LINES / 4, `${batched.length} messages for ${LINES} lines`);
    const unbatched = await rawMessages(sw, { namespace: 'default', name, fromLine: 5 });
    t.is(unbatched.length, LINES - 4);
    t.true(unbatched.every((m) => m.nextTexts.length === 0));

    // Expanded, both are lines 5… of the log, numbered so.
    const expand = (ms: LogLine__Output[]) =>
      ms.flatMap((m) => [m.text, ...m.nextTexts].map((text, i) => ({ line: m.line + i, text })));
    const want = expected()
      .slice(4)
      .map((text, i) => ({ line: i + 5, text }));
    t.deepEqual(expand(batched), want);
    t.deepEqual(expand(unbatched), want);
  },
);

test.serial(
  'a line longer than a NATS message is stored in pieces, masked across the cut, and the log goes on',
  async (t) => {
    const { sw, name } = await pendingBuild(t);
    const publisher = await publisherFor(t, sw, name);
    // Over 1 MiB, with the secret across the first cut, and a character of two code units across another.
    const huge = `${'a'.repeat(MAX_LOG_LINE_CHARS - 5)}${SECRET}${'b'.repeat(MAX_LOG_LINE_CHARS + 1)}🚢${'c'.repeat(1_100_000)}`;
    publisher.write('before');
    publisher.write(huge);
    publisher.write('after');
    const closed = await Promise.race([
      publisher.close(),
      new Promise<string>((r) => setTimeout(() => r('the log was never stored to its end'), 30_000).unref()),
    ]);
    const lines = (await collect(sw.client.streamBuildLogs({ namespace: 'default', name }))).map((l) => l.text);
    t.is(closed, lines.length);
    t.is(lines[0], 'before');
    t.is(lines.at(-1), 'after');
    const pieces = lines.slice(1, -1);
    t.true(pieces.length > 1 && pieces.every((p) => p.length <= MAX_LOG_LINE_CHARS));
    t.is(pieces.join(''), huge.replace(SECRET, '***'));
    t.true(
      pieces.some((p) => p.includes('🚢')),
      'the character of two code units is whole in one piece',
    );
  },
);
