/**
 * What a build's RUN steps are on its node, as its agent advertises it (Executor.isolation):
 * - `userns`: in a user namespace (a daemon started with `--userns-remap`, or a rootless daemon):
 *   root in a RUN step is an unprivileged uid of the node (of its subordinate range, or the
 *   rootless daemon's own user);
 * - `host-root`: the node's root, on the node's own shared daemon (the host executor);
 * - `privileged-root`: the node's root, in a private daemon that is privileged (dind with
 *   SLIPWAY_DIND_USERNS=off, or the chart's sidecar with agent.dind.usernsRemap=false);
 * - `unknown`: the agent did not say (older than this field), taken as not `userns`.
 */
export type Isolation = 'userns' | 'host-root' | 'privileged-root' | 'unknown';

/** The isolations an agent may advertise (`unknown` is what not saying one counts as). */
export const ISOLATIONS: readonly string[] = ['userns', 'host-root', 'privileged-root'];
const KNOWN: ReadonlySet<string> = new Set(ISOLATIONS);

/** A heartbeat's isolation text as an Isolation; anything else (empty: not said) is `unknown`. */
export function isolationOf(text: string | undefined): Isolation {
  return text && KNOWN.has(text) ? (text as Isolation) : 'unknown';
}
