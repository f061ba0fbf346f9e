import type { Build } from '../../api/types.js';

export { ISOLATIONS, isolationOf, type Isolation } from '../../common/isolation.js';

/**
 * Which builds must run in a user namespace: those whose config sets `security.unprivileged`,
 * and every build of the namespaces the coordinator names (SLIPWAY_UNPRIVILEGED_NAMESPACES).
 * Both are read from the build and a set held in memory: nothing is read from the store.
 */
export class UnprivilegedPolicy {
  private readonly namespaces: ReadonlySet<string>;

  constructor(namespaces: Iterable<string> = []) {
    this.namespaces = new Set(namespaces);
  }

  /**
   * Why `build` must run in a user namespace ("namespace team-a requires unprivileged builds"),
   * or undefined when it need not. The namespace's policy is named first when both apply.
   */
  required(build: Build): string | undefined {
    const ns = build.metadata.namespace;
    if (this.namespaces.has(ns)) return `namespace ${ns} requires unprivileged builds`;
    if (build.spec.config.security?.unprivileged)
      return `config ${ns}/${build.spec.configName} requires unprivileged builds (spec.security.unprivileged)`;
    return undefined;
  }
}

/** A policy naming no namespace: only builds whose config asks (security.unprivileged) need a user namespace. */
export const NO_NAMESPACE_POLICY = new UnprivilegedPolicy();
