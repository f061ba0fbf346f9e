import test from 'ava';
import { authFor } from '../agent/build-runner.js';
import { baseImages, hasDaemonPulledBase, pullableBaseImages } from '../agent/strategies/dockerfile.js';

const dockerfile = `ARG BASE=busybox
FROM golang:1.22 AS build
RUN go build -o /app
FROM --platform=linux/amd64 registry.example:5000/team/base:1 AS run
FROM build AS test
FROM scratch
COPY --from=run /app /app`;

test('the agent pulls the images stages start FROM, not earlier stages or scratch; FROM $ARG and --platform are left to the daemon', (t) => {
  t.deepEqual(baseImages(dockerfile), ['golang:1.22', 'registry.example:5000/team/base:1'], 'what GC keeps');
  t.deepEqual(pullableBaseImages(dockerfile), ['golang:1.22'], 'what the agent pulls');
  t.true(hasDaemonPulledBase(dockerfile));
  const plain = 'FROM golang:1.22 AS build\nFROM build\nFROM scratch\n';
  t.deepEqual(pullableBaseImages(plain), ['golang:1.22']);
  t.false(hasDaemonPulledBase(plain));
  t.true(hasDaemonPulledBase(`${plain}FROM \${BASE}\n`));
  t.deepEqual(pullableBaseImages(`${plain}FROM \${BASE}\n`), ['golang:1.22']);
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
