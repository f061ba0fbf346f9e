import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

// The pure tests: no servers, no Docker, no NATS, no child processes; they run in parallel in
// worker threads and take seconds (`npm run test:unit`). The default configuration (package.json,
// used by scripts/test and CI) still runs every test file, these included.
// A test file belongs here only if nothing it imports starts a server or a process.
const pure = [
  'agent-leases-units',
  'agent-name',
  'auth-units',
  'build-cache-guard-units',
  'build-secrets-units',
  'base-image-pulls',
  'buildkit-progress-units',
  'cache-mounts-units',
  'benchmark-executor',
  'build-history-units',
  'chaos-units',
  'coordinator-addresses-units',
  'coordinator-client-units',
  'describe-format',
  'platform-builds-units',
  'dockerfile-edits',
  'gc-thresholds-units',
  'grpc-status-units',
  'image-sources-units',
  'image-triggers-units',
  'kube-api-units',
  'list-pages-units',
  'nats-server-version-units',
  'line-splitter',
  'log-tail',
  'placement-units',
  'prometheus-text',
  'references',
  'run-policy-units',
  'safe-extract',
  'security-settings',
  'transitions',
  'unprivileged-units',
  'userns-remap-units',
  'webhook-units',
  'work-queue',
];

// A renamed or removed file must not drop out of the unit run unnoticed.
const missing = pure.filter((name) => !existsSync(`test/${name}.test.ts`));
if (missing.length > 0) throw new Error(`ava.unit.config.js names test files that do not exist: ${missing.join(', ')}`);

export default {
  files: pure.map((name) => `dist/test/${name}.test.js`),
  timeout: '1m',
  concurrency: Math.max(2, availableParallelism()),
  workerThreads: true,
};
