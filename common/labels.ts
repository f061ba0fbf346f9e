/** Kubernetes label keys and values: what BuildConfigs' nodeSelectors and agents' node labels must be. */

/** DNS-1123 subdomain: a label key's optional prefix. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A label key's name part, and a label value when not empty (Kubernetes' "qualified name" rule). */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why `key` is not a Kubernetes label key (`[prefix/]name`), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `"${key}" is not a label key: the prefix must be a DNS subdomain (lower case letters, digits, '-' and '.'), at most 253 characters`;
    }
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return `"${key}" is not a label key: the name must be 1-63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why `value` is not a Kubernetes label value, or undefined. Empty is a value. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value)) {
    return `"${value}" is not a label value: at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Parses `key=value,key2=value2` (an agent's static node labels), with a problem for each bad pair. */
export function parseLabels(text: string): { labels: Record<string, string>; problems: string[] } {
  const labels: Record<string, string> = {};
  const problems: string[] = [];
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 0) {
      problems.push(`"${pair}" is not key=value`);
      continue;
    }
    const [key, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) problems.push(problem);
    else labels[key] = value;
  }
  return { labels, problems };
}
