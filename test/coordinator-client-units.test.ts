import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { callFailure } from '../agent/coordinator-client.js';

const answered = (code: grpc.status) => Object.assign(new Error(`${code} ${grpc.status[code]}`), { code, details: '' });

test('answers the coordinator may give differently next time are retried', (t) => {
  for (const code of [
    grpc.status.UNAVAILABLE,
    grpc.status.DEADLINE_EXCEEDED,
    grpc.status.ABORTED,
    grpc.status.CANCELLED,
    grpc.status.INTERNAL,
    grpc.status.UNKNOWN,
  ])
    t.is(callFailure(answered(code)), 'retry', grpc.status[code]);
});

test('a report about an attempt that is not the agent’s, or a build that is gone, is refused for good', (t) => {
  t.is(callFailure(answered(grpc.status.FAILED_PRECONDITION)), 'refused');
  t.is(callFailure(answered(grpc.status.NOT_FOUND)), 'refused');
});

test('a request the coordinator cannot take as it is fails without a retry', (t) => {
  for (const code of [
    grpc.status.INVALID_ARGUMENT,
    grpc.status.PERMISSION_DENIED,
    grpc.status.UNAUTHENTICATED,
    grpc.status.RESOURCE_EXHAUSTED,
    grpc.status.UNIMPLEMENTED,
  ])
    t.is(callFailure(answered(code)), 'fail', grpc.status[code]);
  t.is(callFailure(new TypeError('not a gRPC error')), 'fail');
});
