import test from 'ava';
import { scopeCacheMounts } from '../agent/strategies/cache-mounts.js';

const scope = 'slipway/team-a';

test('a cache mount gets an id of the namespace: its own id, or its target', (t) => {
  t.is(
    scopeCacheMounts('FROM base\nRUN --mount=type=cache,target=/root/.cache make\n', scope),
    'FROM base\nRUN --mount=type=cache,target=/root/.cache,id=slipway/team-a//root/.cache make\n',
  );
  t.is(
    scopeCacheMounts('FROM base\nRUN --mount=type=cache,id=npm,target=/npm,sharing=locked npm ci\n', scope),
    'FROM base\nRUN --mount=type=cache,target=/npm,sharing=locked,id=slipway/team-a/npm npm ci\n',
  );
});

test('other mounts, other instructions and every other byte stay as written', (t) => {
  const text = [
    '# syntax and comments: --mount=type=cache,target=/x',
    'FROM base AS deps',
    'RUN --mount=type=secret,id=token --mount=type=bind,target=/src cat /run/secrets/token',
    'COPY --chmod=755 a b',
    'RUN echo --mount=type=cache,target=/not-a-flag-here-either',
    '',
  ].join('\n');
  t.is(scopeCacheMounts(text, scope), text, 'a --mount inside the command is not a flag');
});

test('a RUN continued over lines has its cache mounts scoped on whichever line they stand', (t) => {
  const text = 'FROM base\nRUN --mount=type=bind,target=/b \\\n    --mount=type=cache,target=/c \\\n    make\n';
  t.is(
    scopeCacheMounts(text, scope),
    'FROM base\nRUN --mount=type=bind,target=/b \\\n    --mount=type=cache,target=/c,id=slipway/team-a//c \\\n    make\n',
  );
});

test('a cache mount with neither id nor target is left for BuildKit to refuse', (t) => {
  const text = 'FROM base\nRUN --mount=type=cache true\n';
  t.is(scopeCacheMounts(text, scope), text);
});
