/**
 * A build's `nodeSelector` against a node's labels, as the Kubernetes scheduler matches a Pod's:
 * every key must be a label of the node with exactly that value. An empty or missing selector
 * matches every node, including one whose labels are not known.
 */

export type Labels = Readonly<Record<string, string>>;

/** The selector's entries the labels do not satisfy; empty when they match. */
export function unmatchedSelector(selector: Labels | undefined, labels: Labels | undefined): [string, string][] {
  return Object.entries(selector ?? {}).filter(([key, value]) => labels?.[key] !== value);
}

export function matchesNodeSelector(selector: Labels | undefined, labels: Labels | undefined): boolean {
  return unmatchedSelector(selector, labels).length === 0;
}

/** `a=1,b=2`: a selector (or labels) as kubectl writes one. */
export function formatLabels(labels: Labels | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
