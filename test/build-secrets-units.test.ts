import test from 'ava';
import { InvalidBuildConfigError } from '../common/errors.js';
import { validateBuildConfigSpec } from '../api/validation.js';
import { MAX_BUILD_SECRETS, type BuildConfigSpec } from '../api/types.js';
import { secretMounts, unknownSecretMounts } from '../agent/strategies/secret-mounts.js';
import { SecretMasker } from '../agent/logs/secret-masker.js';

const spec = (secrets: unknown): unknown => ({
  source: { dockerfile: 'FROM busybox' },
  strategy: { docker: { secrets } },
  output: { image: '127.0.0.1:5000/team/app:v1' },
});

function fieldErrors(input: unknown): Record<string, string> {
  try {
    validateBuildConfigSpec(input);
  } catch (err) {
    if (!(err instanceof InvalidBuildConfigError)) throw err;
    return Object.fromEntries(err.fields.map((f) => [f.field, f.message]));
  }
  return {};
}

test('valid build secrets are kept as given', (t) => {
  const secrets = [
    { id: 'token', secret: { name: 'npm-token' } },
    { id: 'A_b.c-1', secret: { name: 'other' } },
  ];
  const out: BuildConfigSpec = validateBuildConfigSpec(spec(secrets));
  t.deepEqual(out.strategy.docker?.secrets, secrets);
});

test('each bad build secret is named by its field', (t) => {
  const errors = fieldErrors(
    spec([
      { id: 'token', secret: { name: 'a' } },
      { id: 'token', secret: { name: 'b' } },
      { id: 'has space', secret: { name: 'c' } },
      { id: '../x', secret: { name: 'd' } },
      { id: 'x'.repeat(129), secret: { name: 'e' } },
      { id: 'ok', secret: { name: 'Not_A_Name' } },
      { id: '..', secret: { name: 'f' } },
    ]),
  );
  t.regex(errors['spec.strategy.docker.secrets[1].id'] ?? '', /"token" is given twice/);
  t.regex(errors['spec.strategy.docker.secrets[2].id'] ?? '', /letters, digits/);
  t.regex(errors['spec.strategy.docker.secrets[3].id'] ?? '', /letters, digits/);
  t.regex(errors['spec.strategy.docker.secrets[4].id'] ?? '', /at most 128 characters, got 129/);
  t.regex(errors['spec.strategy.docker.secrets[5].secret.name'] ?? '', /lower case letters/);
  t.regex(errors['spec.strategy.docker.secrets[6].id'] ?? '', /not be "\." or "\.\."/);
  t.is(Object.keys(errors).length, 6);
});

test('an id and a secret are required; unknown fields are refused', (t) => {
  const errors = fieldErrors(
    spec([
      { secret: { name: 'a' } },
      { id: 'b' },
      { id: 'c', secret: {} },
      { id: 'd', secret: { name: 'e' }, env: 'X' },
    ]),
  );
  t.is(errors['spec.strategy.docker.secrets[0].id'], 'is required');
  t.is(errors['spec.strategy.docker.secrets[1].secret'], 'is required');
  // An empty reference is "not set", as proto3 sends it.
  t.is(errors['spec.strategy.docker.secrets[2].secret'], 'is required');
  t.is(errors['spec.strategy.docker.secrets[3].env'], 'unknown field');
});

test(`at most ${MAX_BUILD_SECRETS} build secrets`, (t) => {
  const many = Array.from({ length: MAX_BUILD_SECRETS + 1 }, (_, i) => ({ id: `s${i}`, secret: { name: `s${i}` } }));
  t.regex(fieldErrors(spec(many))['spec.strategy.docker.secrets'] ?? '', /at most 32 secrets, got 33/);
  t.deepEqual(fieldErrors(spec(many.slice(0, MAX_BUILD_SECRETS))), {});
});

test('secret mounts: id, the basename of target/dst when there is no id, flags over continuation lines', (t) => {
  const dockerfile = [
    'FROM busybox',
    'RUN --mount=type=secret,id=token cat /run/secrets/token',
    'RUN --mount=type=cache,target=/cache --mount=type=secret,id=npm,required \\',
    '    --mount=type=secret,target=/root/.npmrc \\',
    '    npm ci',
    '# RUN --mount=type=secret,id=commented',
    'RUN echo --mount=type=secret,id=in-the-command',
    'run --MOUNT=Type=Secret,dst=/etc/aws/credentials,mode=0400 true',
    'RUN --network=none --mount=type=secret,"id=quoted" true',
    'RUN --mount=type=secret,id=$ARG_ID true',
    'RUN --mount=type=secret,mode=0400 true',
    'RUN --mount=type=bind,target=/src/token make',
  ].join('\n');
  t.deepEqual(
    secretMounts(dockerfile).map((m) => [m.id, m.line]),
    [
      ['token', 2],
      ['npm', 3],
      ['.npmrc', 3],
      ['credentials', 8],
      ['quoted', 9],
    ],
  );
});

test('secret mounts with the escape directive', (t) => {
  const dockerfile = [
    '# escape=`',
    'FROM busybox',
    'RUN --mount=type=cache,target=/c `',
    '  --mount=type=secret,id=k dir',
  ].join('\n');
  t.deepEqual(secretMounts(dockerfile), [{ id: 'k', line: 3, text: 'RUN --mount=type=cache,target=/c `' }]);
});

test('unknown secret mounts: those the config does not declare, with their line', (t) => {
  const dockerfile = 'FROM busybox\nRUN --mount=type=secret,id=token true\nRUN --mount=type=secret,id=npm true';
  t.deepEqual(unknownSecretMounts(dockerfile, new Set(['token'])), [
    { id: 'npm', line: 3, text: 'RUN --mount=type=secret,id=npm true' },
  ]);
  t.deepEqual(unknownSecretMounts(dockerfile, new Set(['token', 'npm'])), []);
});

test('the masker hides a build secret value, its lines when it has several, and a value with a trailing newline', (t) => {
  const masker = new SecretMasker([
    { password: 'tok3n-value' },
    { password: 'line-one-secret\nline-two-secret\n' },
    { password: 'abc\n' },
  ]);
  t.is(masker.mask('#7 0.21 tok3n-value'), '#7 0.21 ***');
  t.is(masker.mask('#7 0.21 line-two-secret'), '#7 0.21 ***');
  t.is(masker.mask('value: abc'), 'value: ***');
});
