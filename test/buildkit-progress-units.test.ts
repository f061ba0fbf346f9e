import path from 'node:path';
import test from 'ava';
import protobuf from 'protobufjs';
import { decodeStatus, PlainProgress, type StatusResponse } from '../agent/container-runtime/buildkit-progress.js';
import { protoRoot } from '../common/grpc/proto.js';

const at = (seconds: number) => ({ seconds: Math.floor(seconds), nanos: Math.round((seconds % 1) * 1e9) });
const none: Omit<StatusResponse, 'vertexes'> = { statuses: [], logs: [], warnings: [] };
const vertex = (digest: string, name: string, more: Partial<StatusResponse['vertexes'][number]> = {}) => ({
  digest,
  name,
  cached: false,
  error: '',
  ...more,
});
const log = (v: string, s: number, text: string) => ({
  vertex: v,
  timestamp: at(s),
  stream: 1,
  msg: Buffer.from(text),
});

test('a step is numbered when it starts (one never started takes no number), announced once, its output lines timed from its start, and DONE with its duration', (t) => {
  const p = new PlainProgress();
  const lines = [
    ...p.render({ ...none, vertexes: [vertex('sha256:a', '[internal] load build definition from Dockerfile')] }),
    ...p.render({
      ...none,
      vertexes: [vertex('sha256:b', '[1/2] FROM base', { started: at(100), completed: at(100.2) })],
    }),
    ...p.render({ ...none, vertexes: [vertex('sha256:c', '[2/2] RUN make', { started: at(101) })] }),
    ...p.render({
      ...none,
      vertexes: [],
      logs: [log('sha256:c', 101.5, 'compiling a'), log('sha256:c', 101.6, 'nd b\nlinking\n')],
    }),
    ...p.render({ ...none, vertexes: [vertex('sha256:c', '[2/2] RUN make', { started: at(101) })] }),
    ...p.render({
      ...none,
      vertexes: [vertex('sha256:c', '[2/2] RUN make', { started: at(101), completed: at(102.3) })],
    }),
  ];
  t.deepEqual(lines, [
    '#1 [1/2] FROM base',
    '#1 DONE 0.2s',
    '#2 [2/2] RUN make',
    '#2 0.600 compiling and b',
    '#2 0.600 linking',
    '#2 DONE 1.3s',
  ]);
});

test('a cached step says CACHED; a failed one says ERROR and is remembered as the failed step', (t) => {
  const p = new PlainProgress();
  const lines = [
    ...p.render({
      ...none,
      vertexes: [vertex('a', '[2/3] COPY . .', { started: at(1), completed: at(1), cached: true })],
    }),
    ...p.render({ ...none, vertexes: [vertex('b', '[3/3] RUN exit 3', { started: at(2) })] }),
    ...p.render({ ...none, vertexes: [], logs: [log('b', 2.1, 'last words')] }),
    ...p.render({
      ...none,
      vertexes: [vertex('b', '[3/3] RUN exit 3', { started: at(2), completed: at(2.5), error: 'exit code: 3' })],
    }),
    ...p.render({
      ...none,
      vertexes: [vertex('b', '[3/3] RUN exit 3', { started: at(2), completed: at(2.5), error: 'again' })],
    }),
  ];
  t.deepEqual(lines.slice(0, 3), ['#1 [2/3] COPY . .', '#1 CACHED', '#2 [3/3] RUN exit 3']);
  t.regex(lines[3]!, /^#2 \d+\.\d{3} last words$/);
  t.is(lines[4], '#2 ERROR: exit code: 3', 'output without a newline is flushed before the step ends');
  t.is(lines.length, 5, 'a step that ended is not reported again');
  t.deepEqual(p.failed, { name: '[3/3] RUN exit 3', error: 'exit code: 3' });
});

test('a finished piece of work is reported once, with its size', (t) => {
  const p = new PlainProgress();
  p.render({ ...none, vertexes: [vertex('ctx', '[internal] load build context', { started: at(1) })] });
  const status = {
    ID: 'transferring context:',
    vertex: 'ctx',
    name: 'transferring context:',
    current: 2048,
    total: 2048,
  };
  t.deepEqual(p.render({ ...none, vertexes: [], statuses: [status] }), [], 'not until it completes');
  const done = { ...status, completed: at(2) };
  t.deepEqual(p.render({ ...none, vertexes: [], statuses: [done] }), ['#1 transferring context: 2.00kB done']);
  t.deepEqual(p.render({ ...none, vertexes: [], statuses: [done] }), []);
});

test('end() gives the output a stream ended without a newline', (t) => {
  const p = new PlainProgress();
  p.render({ ...none, vertexes: [vertex('a', '[1/1] RUN printf x', { started: at(1) })] });
  t.deepEqual(p.render({ ...none, vertexes: [], logs: [log('a', 1.5, 'no newline')] }), []);
  t.regex(p.end().join('\n'), /^#1 \d+\.\d{3} no newline$/);
  t.deepEqual(p.end(), []);
});

test("decodeStatus reads BuildKit's wire format (a StatusResponse as dockerd's trace messages carry it)", (t) => {
  const type = protobuf
    .loadSync(path.join(protoRoot(), 'moby', 'buildkit-status.proto'))
    .lookupType('moby.buildkit.v1.StatusResponse');
  const wire = type
    .encode(
      type.fromObject({
        vertexes: [{ digest: 'sha256:a', name: '[1/1] RUN true', started: { seconds: 5, nanos: 0 } }],
        logs: [
          { vertex: 'sha256:a', timestamp: { seconds: 5, nanos: 500_000_000 }, stream: 2, msg: Buffer.from('hello\n') },
        ],
      }),
    )
    .finish();
  const status = decodeStatus(Buffer.from(wire).toString('base64'));
  t.is(status.vertexes[0]!.name, '[1/1] RUN true');
  t.is(status.vertexes[0]!.started!.seconds, 5);
  t.is(Buffer.from(status.logs[0]!.msg).toString(), 'hello\n');
  t.deepEqual(new PlainProgress().render(status), ['#1 [1/1] RUN true', '#1 0.500 hello']);
});

test('steps are numbered as they start, not as BuildKit first lists them', (t) => {
  const p = new PlainProgress();
  // Both listed before either starts (as BuildKit sends the graph), then the second starts first.
  t.deepEqual(p.render({ ...none, vertexes: [vertex('a', '[deps 2/2] RUN a'), vertex('b', '[app 2/2] RUN b')] }), []);
  t.deepEqual(p.render({ ...none, vertexes: [vertex('b', '[app 2/2] RUN b', { started: at(1) })] }), [
    '#1 [app 2/2] RUN b',
  ]);
  t.deepEqual(p.render({ ...none, vertexes: [vertex('a', '[deps 2/2] RUN a', { started: at(2) })] }), [
    '#2 [deps 2/2] RUN a',
  ]);
});

test('output lines ended by CRLF lose the CR, also when a report ends between the CR and the LF', (t) => {
  const p = new PlainProgress();
  const lines = [
    ...p.render({ ...none, vertexes: [vertex('s', '[1/1] RUN win', { started: at(1) })] }),
    ...p.render({ ...none, vertexes: [], logs: [log('s', 1.5, 'one\r')] }),
    ...p.render({ ...none, vertexes: [], logs: [log('s', 1.5, '\ntwo\r\nthr\ree\r\n')] }),
  ];
  t.deepEqual(lines, ['#1 [1/1] RUN win', '#1 0.500 one', '#1 0.500 two', '#1 0.500 thr\ree']);
});
