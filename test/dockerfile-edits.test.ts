import test from 'ava';
import { DockerfileEditError, editDockerfile } from '../agent/strategies/dockerfile.js';

const multi = `# syntax=docker/dockerfile:1
FROM golang AS build
RUN go build \\
    -o /app
FROM --platform=linux/amd64 busybox AS run
COPY --from=build /app /app
CMD ["/app"]`;

test("from replaces the last stage's image; env follows its FROM; the rest is untouched", (t) => {
  const out = editDockerfile(multi, {
    from: 'registry.test/base:1',
    env: [
      { name: 'A', value: 'x y' },
      { name: 'B', value: 'say "hi"' },
    ],
  });
  t.is(
    out,
    `# syntax=docker/dockerfile:1
FROM golang AS build
RUN go build \\
    -o /app
FROM --platform=linux/amd64 registry.test/base:1 AS run
ENV A="x y"
ENV B="say \\"hi\\""
COPY --from=build /app /app
CMD ["/app"]`,
  );
});

test('with a target, the edits go to that stage, after its whole FROM', (t) => {
  const out = editDockerfile(multi, { target: 'build', env: [{ name: 'CGO_ENABLED', value: '0' }] });
  t.is(out.split('\n')[2], 'ENV CGO_ENABLED="0"');
});

test('no edits: the text comes back as it was', (t) => {
  t.is(editDockerfile(multi, {}), multi);
});

test('a Dockerfile without FROM, or without the target stage, is refused', (t) => {
  t.throws(() => editDockerfile('RUN true', { from: 'x' }), { instanceOf: DockerfileEditError, message: /no FROM/ });
  t.throws(() => editDockerfile(multi, { target: 'nope', from: 'x' }), {
    instanceOf: DockerfileEditError,
    message: /no stage named "nope"/,
  });
});
