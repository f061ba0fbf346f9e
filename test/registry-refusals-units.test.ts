import test from 'ava';
import { isRegistryAuthRefusal, isTransientRegistryFailure } from '../agent/container-runtime/registry-refusals.js';

/** Messages as registries and the daemon word them, and whether each is a refusal for want of credentials. */
const cases: [message: string, authRefusal: boolean][] = [
  ['unauthorized: authentication required', true],
  ['unauthorized: incorrect username or password', true],
  ['Head "https://registry.example/v2/team/base/manifests/1": no basic auth credentials', true],
  ['denied: requested access to the resource is denied', true],
  [
    "pull access denied for team/private, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    true,
  ],
  ['denied: permission_denied: The token provided does not match expected scopes.', true],
  ['Error response from daemon: Get "https://registry.example/v2/": UNAUTHORIZED', true],
  ["The command '/bin/sh -c exit 3' returned a non-zero code: 3", false],
  ['manifest for busybox:nope not found: manifest unknown: manifest unknown', false],
  ['Get "https://registry.example/v2/": dial tcp 127.0.0.1:9: connect: connection refused', false],
  ['open /var/lib/docker/tmp/docker-builder1/x: permission denied', false],
  ['Permission denied (publickey).', false],
  ['blob upload unknown', false],
  ['', false],
];

test('auth refusals are told from other failures, a file\'s "permission denied" included', (t) => {
  for (const [message, authRefusal] of cases) t.is(isRegistryAuthRefusal(message), authRefusal, message);
});

test('failures worth another try are told from those that are not', (t) => {
  const transient = [
    'received unexpected HTTP status: 500 Internal Server Error',
    'received unexpected HTTP status: 503 Service Unavailable',
    'Put "http://127.0.0.1:5000/v2/a/blobs/uploads/x": read tcp 127.0.0.1:1->127.0.0.1:5000: read: connection reset by peer',
    'net/http: TLS handshake timeout',
    'unexpected EOF',
  ];
  const final = [
    'unauthorized: authentication required',
    'manifest for busybox:nope not found: manifest unknown: manifest unknown',
    'Get "https://registry.example/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
    'name unknown: repository name not known to registry',
    'received unexpected HTTP status: 401 Unauthorized',
    '',
  ];
  for (const m of transient) t.true(isTransientRegistryFailure(m), m);
  for (const m of final) t.false(isTransientRegistryFailure(m), m);
});
