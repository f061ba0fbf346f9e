/**
 * An agent's name keys its heartbeat record and is fenced against in every report: a node or host
 * name, labels of letters, digits, '_' and '-' joined by single dots, each starting and ending
 * with a letter or digit, at most 253 characters. Returns what is wrong, or undefined.
 */
export function agentNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is required';
  if (
    name.length > 253 ||
    !/^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?)*$/.test(name)
  ) {
    return `"${name.slice(0, 80)}" is not a node or host name (labels of letters, digits, '_' and '-' joined by single dots, at most 253)`;
  }
  return undefined;
}

/**
 * The most builds one agent may run at once (SLIPWAY_AGENT_CONCURRENCY), which is also the
 * largest capacity a heartbeat may claim: far above what one node's Docker daemon can take.
 */
export const MAX_AGENT_CONCURRENCY = 1024;
