/**
 * Words a registry (or the daemon speaking for it) uses when it refuses a pull or a push for
 * want of (right) credentials: the registry API's UNAUTHORIZED and DENIED error codes as the
 * daemon prints them ("unauthorized: …", "denied: requested access to the resource is denied",
 * "pull access denied for …"), a 401's "authentication required", and the daemon's own "no basic
 * auth credentials" when it had none to send. A file's "permission denied" is not a registry's.
 */
const AUTH_REFUSAL = /unauthorized|authentication required|no basic auth credentials|(?<!permission )denied/i;

/**
 * Whether the daemon's message about a pull, a push or a build says a registry refused it for
 * want of (right) credentials, as opposed to any other failure (not found, unreachable, a bad
 * Dockerfile, a failing step). One rule for all three, so they cannot drift apart.
 */
export function isRegistryAuthRefusal(message: string): boolean {
  return AUTH_REFUSAL.test(message);
}

/**
 * Words of a registry failure that may pass if the same request is made again: a 5xx answer
 * ("received unexpected HTTP status: 500 Internal Server Error", as the daemon prints it; the
 * open-source registry answers 500, "invalid checksum digest format", to a request that races
 * another push of the same blob), a connection reset or cut short, a timeout. Not an auth
 * refusal, not "not found", not a refused connection (nothing listens: trying again soon
 * changes nothing).
 */
const TRANSIENT =
  /unexpected HTTP status: 5\d\d|\b(502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout)\b|connection reset by peer|unexpected EOF|i\/o timeout|TLS handshake timeout/i;

/** Whether a push failure is worth one more try (see TRANSIENT). */
export function isTransientRegistryFailure(message: string): boolean {
  return TRANSIENT.test(message) && !isRegistryAuthRefusal(message);
}
