import { parseImageReference } from './image-reference.js';

/** Docker Hub's names for itself, as a pull secret may give its registry. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/']);

/**
 * A docker-registry secret's credentials when `image` is in the secret's registry; otherwise
 * none: credentials go to their own registry only.
 */
export function authFor<A extends { registry: string }>(image: string, auth: A | undefined): A | undefined {
  if (!auth) return undefined;
  const ref = parseImageReference(image);
  if (typeof ref === 'string') return undefined;
  const domain = ref.domain ?? 'docker.io';
  const registry = auth.registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const hub = DOCKER_HUB.has(domain) && (DOCKER_HUB.has(auth.registry) || DOCKER_HUB.has(registry));
  return domain === registry || hub ? auth : undefined;
}
