import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { testEnvironment } from './environment.js';
import { freePort, waitForPort } from './ports.js';
import { spawnForTest } from './processes.js';
import type { Teardowns } from './teardowns.js';

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** The digest the registry (by default the environment's) holds for `repository:tag`, or undefined when it has none. */
export async function registryDigest(
  repository: string,
  tag: string,
  registry = testEnvironment().registry,
): Promise<string | undefined> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_TYPES },
  });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`registry answered ${res.status} for ${repository}:${tag}`);
  return res.headers.get('docker-content-digest') ?? undefined;
}

/** A notifications endpoint of the registry's config (`notifications: endpoints:`). */
export interface RegistryNotifyEndpoint {
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** Other headers sent with every delivery. */
  headers?: Record<string, string>;
}

/**
 * A real docker-registry of a test's own, on a random port of loopback (or of `o.host`, an
 * address of this machine), its storage and config in
 * `dir`; `auth` is its config's `auth:` section (YAML), if any; with `notify`, it posts its
 * events (manifest pushes: blobs and pulls are left out) to those endpoints. Stopped when the
 * test ends.
 */
export async function serveRegistry(
  t: Teardowns,
  dir: string,
  auth = '',
  o: { notify?: RegistryNotifyEndpoint[]; host?: string } = {},
): Promise<{ address: string; output: () => string }> {
  const port = await freePort();
  const host = o.host ?? '127.0.0.1';
  const notifications = o.notify?.length
    ? `notifications:
  endpoints:
${o.notify
  .map(
    (e, i) => `    - name: endpoint-${i}
      url: ${JSON.stringify(e.url)}
      headers:
        Authorization: [${JSON.stringify(`Bearer ${e.token}`)}]
${Object.entries(e.headers ?? {})
  .map(([k, v]) => `        ${k}: [${JSON.stringify(v)}]\n`)
  .join('')}      timeout: 2s
      threshold: 3
      backoff: 500ms
      ignoredmediatypes: [application/octet-stream]
      ignore:
        actions: [pull]
`,
  )
  .join('')}`
    : '';
  await writeFile(
    path.join(dir, 'config.yml'),
    `version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: ${path.join(dir, 'data')} }
http: { addr: ${host}:${port} }
${auth}${notifications}`,
  );
  const registry = spawnForTest(t, 'docker-registry', ['serve', path.join(dir, 'config.yml')]);
  await waitForPort(port, undefined, host).catch((err: Error) => {
    throw new Error(`${err.message}\n${registry.output()}`);
  });
  return { address: `${host}:${port}`, output: registry.output };
}
