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
  let [, domain, path, tag, digest] = m as unknown as [string, string | undefined, string, string?, string?];
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
