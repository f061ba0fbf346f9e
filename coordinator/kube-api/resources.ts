/**
 * The API group Slipway serves to Kubernetes and its resources, as discovery describes them.
 * One place for names: routing, discovery, OpenAPI, errors and tables all read these.
 */

export const GROUP = 'build.slipway.dev';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export type ResourceName = 'buildconfigs' | 'builds';

export interface ResourceInfo {
  plural: ResourceName;
  singular: string;
  kind: 'BuildConfig' | 'Build';
  listKind: string;
  shortNames: string[];
  verbs: string[];
  /** The subresource a client may call, with its verbs and the kind it answers or takes. */
  subresource: { name: 'instantiate' | 'log'; verbs: string[]; kind: string };
}

export const BUILDCONFIGS: ResourceInfo = {
  plural: 'buildconfigs',
  singular: 'buildconfig',
  kind: 'BuildConfig',
  listKind: 'BuildConfigList',
  shortNames: ['bc'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresource: { name: 'instantiate', verbs: ['create'], kind: 'BuildRequest' },
};

/**
 * Builds are made by instantiating a BuildConfig; clients may change their labels and
 * annotations (update, patch), everything else is Slipway's.
 */
export const BUILDS: ResourceInfo = {
  plural: 'builds',
  singular: 'build',
  kind: 'Build',
  listKind: 'BuildList',
  shortNames: ['bld'],
  verbs: ['delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresource: { name: 'log', verbs: ['get'], kind: 'BuildLog' },
};

export const RESOURCES: readonly ResourceInfo[] = [BUILDCONFIGS, BUILDS];

export const CATEGORIES = ['all', 'slipway'];

export function resourceByPlural(plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.plural === plural);
}

/** `buildconfigs.build.slipway.dev`, as Kubernetes names a resource in messages. */
export function qualified(r: ResourceInfo): string {
  return `${r.plural}.${GROUP}`;
}
