/**
 * Image references as the distribution project defines them:
 * `[domain[:port]/]path[:tag][@digest]`. Parsing is strict: a reference Docker would refuse is
 * refused here, before anything is stored.
 */
export interface ImageReference {
  /** Registry host with optional port; undefined: Docker Hub. */
  domain?: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);

/** Why `text` is not a valid reference, or undefined when it is. */
export function parseImageReference(text: string): ImageReference | string {
  if (text.length === 0) return 'must not be empty';
  if (text.length > 255) return 'must be at most 255 characters';
  const m = REFERENCE.exec(text);
  if (!m) return `"${text}" is not a valid image reference ([registry/]repository[:tag])`;
  const [, host, repository, tag, digest] = m as unknown as [string, string | undefined, string, string?, string?];
  let domain = host;
  let path = repository;
  // "foo/bar": "foo" is a registry only when it looks like a host (has a dot or port, or is localhost).
  if (domain && !/[.:]/.test(domain) && domain !== 'localhost' && domain.toLowerCase() === domain) {
    path = `${domain}/${path}`;
    domain = undefined;
  }
  return { domain, path, tag, digest };
}

/** The reference with its tag made explicit (`latest` when none), as pushes need. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.domain ? ref.domain + '/' : ''}${ref.path}${ref.tag ? ':' + ref.tag : ''}${ref.digest ? '@' + ref.digest : ''}`;
}

/** Docker Hub's name in canonical references; `index.docker.io` and `registry-1.docker.io` are the same registry. */
export const DOCKER_HUB = 'docker.io';

/**
 * An image's repository and tag as a registry knows them, with Docker's defaults made explicit:
 * no registry is Docker Hub, a one-part Hub path is under `library/`, no tag is `latest`. Two
 * references name the same tag exactly when their canonical forms are equal.
 */
export interface CanonicalImage {
  /** Registry host[:port], lower case; see registryHostKey. */
  registry: string;
  repository: string;
  tag: string;
}

/** The canonical form of `text`, or why it is not a reference. A digest in it is ignored. */
export function canonicalImage(text: string): CanonicalImage | string {
  const ref = parseImageReference(text);
  if (typeof ref === 'string') return ref;
  const registry = registryHostKey(ref.domain ?? DOCKER_HUB);
  const repository = registry === DOCKER_HUB && !ref.path.includes('/') ? `library/${ref.path}` : ref.path;
  return { registry, repository, tag: ref.tag ?? 'latest' };
}

/**
 * A registry host as compared: lower case, `:443` (HTTPS's own port, which a Host header leaves
 * out) dropped, Docker Hub's aliases as `docker.io`.
 */
export function registryHostKey(host: string): string {
  const h = host.trim().toLowerCase().replace(/:443$/, '');
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? DOCKER_HUB : h;
}

export function sameImage(a: CanonicalImage, b: CanonicalImage): boolean {
  return a.registry === b.registry && a.repository === b.repository && a.tag === b.tag;
}

/** `registry/repository:tag`, as people read it. */
export function formatCanonicalImage(i: CanonicalImage): string {
  return `${i.registry}/${i.repository}:${i.tag}`;
}

/** `text` pinned to `digest`: its registry and repository as written, the tag replaced by the digest. */
export function pinnedReference(text: string, digest: string): string {
  const ref = parseImageReference(text);
  if (typeof ref === 'string') throw new Error(`pinnedReference: ${ref}`);
  return formatImageReference({ domain: ref.domain, path: ref.path, digest });
}

/** A manifest digest as registries give them (`sha256:` and 64 hex digits). */
export const MANIFEST_DIGEST = /^sha256:[0-9a-f]{64}$/;
