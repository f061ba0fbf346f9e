import test from 'ava';
import { authFor } from '../agent/build-runner.js';
import { baseImages, hasArgBaseImage } from '../agent/strategies/dockerfile.js';

const dockerfile = `ARG BASE=busybox
FROM golang:1.22 AS build
RUN go build -o /app
FROM --platform=linux/amd64 registry.example:5000/team/base:1 AS run
FROM build AS test
FROM scratch
COPY --from=run /app /app`;

test('the agent pulls the images stages start FROM, not earlier stages or scratch; FROM $ARG is left to the daemon', (t) => {
  t.deepEqual(baseImages(dockerfile), ['golang:1.22', 'registry.example:5000/team/base:1']);
  t.false(hasArgBaseImage(dockerfile));
  t.true(hasArgBaseImage(`${dockerfile}\nFROM \${BASE}\n`));
  t.true(hasArgBaseImage('FROM --platform=$BUILDPLATFORM $BASE\n'));
});

test("a pull secret's credentials go only to its own registry", (t) => {
  const secret = { registry: 'registry.example:5000', username: 'u', password: 'p' };
  t.is(authFor('registry.example:5000/team/base:1', secret), secret);
  t.is(authFor('golang:1.22', secret), undefined, 'not to Docker Hub');
  t.is(authFor('other.example/x', secret), undefined);
  t.is(authFor('anything', undefined), undefined);
  const hub = { registry: 'https://index.docker.io/v1/', username: 'u', password: 'p' };
  t.is(authFor('golang:1.22', hub), hub);
  const plain = { ...hub, registry: 'docker.io' };
  t.is(authFor('docker.io/library/golang:1.22', plain), plain);
  t.is(authFor('registry.example:5000/team/base:1', hub), undefined);
});
