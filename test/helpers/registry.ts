import { testEnvironment } from './environment.js';

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** The digest the registry holds for `repository:tag`, or undefined when it has none. */
export async function registryDigest(repository: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`http://${testEnvironment().registry}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_TYPES },
  });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`registry answered ${res.status} for ${repository}:${tag}`);
  return res.headers.get('docker-content-digest') ?? undefined;
}
