import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { JetStreamApiError } from '@nats-io/jetstream';
import { NoRespondersError, TimeoutError } from '@nats-io/transport-node';
import { ConflictError, StaleAttemptError } from '../common/errors.js';
import { toGrpcStatus } from '../common/grpc/status.js';

// The errors nats.js itself raises, made as it makes them: what a coordinator sees while a NATS
// node dies or a JetStream leader is being elected must reach the agent as "try again".
const jsError = (code: number, err_code: number, description: string) =>
  new JetStreamApiError({ code, err_code, description });

test('NATS timeouts, no responders and JetStream leader elections are UNAVAILABLE, so agents retry', (t) => {
  const unavailable = [
    new TimeoutError(),
    new NoRespondersError('$JS.API.STREAM.INFO.KV_slipway_builds'),
    jsError(503, 10008, 'JetStream system temporarily unavailable'),
    jsError(500, 10009, 'JetStream cluster can not handle request'),
    jsError(500, 10118, 'stream is offline'),
    jsError(503, 10999, 'something new the server says is temporary'),
    new Error('KV update failed', { cause: new TimeoutError() }),
  ];
  for (const err of unavailable) t.is(toGrpcStatus(err).code, grpc.status.UNAVAILABLE, err.message);
});

test('what retrying cannot fix keeps its own code', (t) => {
  t.is(toGrpcStatus(jsError(400, 10071, 'wrong last sequence: 7')).code, grpc.status.INTERNAL);
  t.is(
    toGrpcStatus(new StaleAttemptError('build default/a-1 is at attempt 2, not 1')).code,
    grpc.status.FAILED_PRECONDITION,
  );
  t.is(toGrpcStatus(new ConflictError('default.a-1', 3, { cause: new TimeoutError() })).code, grpc.status.ABORTED);
  t.is(toGrpcStatus(new Error('a bug')).code, grpc.status.INTERNAL);
});
