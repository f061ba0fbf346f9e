import { CATEGORIES, GROUP, RESOURCES, VERSION } from './resources.js';

/**
 * Discovery documents (unaggregated): what `kubectl` reads to map `bc`, `bld`, `builds` and
 * `buildconfigs` to this group, version and its resources.
 */

const groupVersion = { groupVersion: `${GROUP}/${VERSION}`, version: VERSION };

/** `/api`: the legacy core group, which this server does not serve. */
export function coreApiVersions() {
  return { kind: 'APIVersions', apiVersion: 'v1', versions: [], serverAddressByClientCIDRs: [] };
}

export function apiGroup() {
  return { kind: 'APIGroup', apiVersion: 'v1', name: GROUP, versions: [groupVersion], preferredVersion: groupVersion };
}

/** `/apis` */
export function apiGroupList() {
  const { kind: _k, apiVersion: _a, ...group } = apiGroup();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
}

/** `/apis/build.slipway.dev/v1` */
export function apiResourceList() {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${GROUP}/${VERSION}`,
    resources: RESOURCES.flatMap((r) => [
      {
        name: r.plural,
        singularName: r.singular,
        namespaced: true,
        kind: r.kind,
        verbs: r.verbs,
        shortNames: r.shortNames,
        categories: CATEGORIES,
      },
      {
        name: `${r.plural}/${r.subresource.name}`,
        singularName: '',
        namespaced: true,
        kind: r.subresource.kind,
        verbs: r.subresource.verbs,
      },
    ]),
  };
}

/** `/version`, which kubectl reads for `kubectl version` and to pick features. */
export function versionInfo() {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-slipway',
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: 'none (Node.js)',
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}
