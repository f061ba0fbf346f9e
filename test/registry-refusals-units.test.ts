import test from 'ava';
import { isRegistryAuthRefusal } from '../agent/container-runtime/registry-refusals.js';

test('refusals for want of credentials, as registries and the daemon word them, are auth refusals', (t) => {
  for (const message of [
    'unauthorized: authentication required',
    'unauthorized: incorrect username or password',
    'Head "https://registry.example/v2/team/base/manifests/1": no basic auth credentials',
    'denied: requested access to the resource is denied',
    "pull access denied for team/private, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    'denied: permission_denied: The token provided does not match expected scopes.',
    'Error response from daemon: Get "https://registry.example/v2/": UNAUTHORIZED',
  ]) {
    t.true(isRegistryAuthRefusal(message), message);
  }
});

test('other failures are not auth refusals, a file\'s "permission denied" included', (t) => {
  for (const message of [
    "The command '/bin/sh -c exit 3' returned a non-zero code: 3",
    'manifest for busybox:nope not found: manifest unknown: manifest unknown',
    'Get "https://registry.example/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
    'open /var/lib/docker/tmp/docker-builder1/x: permission denied',
    'Permission denied (publickey).',
    'blob upload unknown',
    '',
  ]) {
    t.false(isRegistryAuthRefusal(message), message);
  }
});
