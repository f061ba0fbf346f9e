import type http from 'node:http';
import { InvalidInputError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import {
  TokenAuthenticator,
  bearerToken,
  firstOf,
  frontProxyUser,
  roleAuthorizer,
  type UserInfo,
} from '../auth/index.js';
import { COORDINATOR_ENV, readSettingFile, type CoordinatorConfig } from '../config.js';
import type { KubeApiServerOptions } from './server.js';

export type KubeApiAuth = Pick<KubeApiServerOptions, 'authenticate' | 'authorize' | 'tls'>;

/**
 * The Kubernetes API's TLS, authentication and authorization for `SLIPWAY_KUBE_API_AUTH`:
 *
 * - `none`: nothing here, so the server's default (everyone is `system:anonymous`, all allowed).
 * - `tokens`: bearer tokens from `SLIPWAY_API_TOKENS_FILE`; roles by group (auth/roles.ts).
 * - `delegated`: front-proxy client certificates (requestheader CA and allowed names), then
 *   bearer tokens when a token file is given; the cluster decides through SubjectAccessReview,
 *   asked with the coordinator's own client (`SLIPWAY_KUBECONFIG`, or the Pod's service account).
 *
 * Files are read once, here.
 * @throws InvalidInputError naming the setting whose file cannot be used.
 */
export async function kubeApiAuth(config: CoordinatorConfig, log: Logger): Promise<KubeApiAuth> {
  const e = COORDINATOR_ENV;
  const out: KubeApiAuth = {};
  if (config.kubeApiTlsCertFile) {
    out.tls = {
      cert: await readSettingFile(e.kubeApiTlsCertFile, config.kubeApiTlsCertFile),
      key: await readSettingFile(e.kubeApiTlsKeyFile, config.kubeApiTlsKeyFile),
    };
  }
  if (config.kubeApiAuth === 'none') return out;

  const tokens = config.apiTokensFile
    ? await TokenAuthenticator.fromFile(config.apiTokensFile, e.apiTokensFile)
    : undefined;
  const byToken = (req: http.IncomingMessage): UserInfo | undefined => {
    const token = bearerToken(req.headers.authorization);
    if (!token || !tokens) return undefined;
    try {
      return tokens.authenticate(token);
    } catch {
      return undefined;
    }
  };
  if (config.kubeApiAuth === 'tokens') {
    out.authenticate = firstOf('bearer token', byToken);
    out.authorize = roleAuthorizer;
    log.info('kube api authentication: bearer tokens, roles by group', { tokens: tokens!.size });
    return out;
  }

  out.tls = { ...out.tls!, clientCA: await readSettingFile(e.requestHeaderCAFile, config.requestHeaderCAFile) };
  const proxy = {
    allowedNames: config.requestHeaderAllowedNames,
    usernameHeaders: config.requestHeaderUsernameHeaders,
    groupHeaders: config.requestHeaderGroupHeaders,
    extraHeaderPrefixes: config.requestHeaderExtraHeaderPrefixes,
  };
  out.authenticate = tokens
    ? firstOf('front-proxy client certificate or bearer token', (req) => frontProxyUser(req, proxy), byToken)
    : firstOf('front-proxy client certificate', (req) => frontProxyUser(req, proxy));
  // Loaded here, in this mode only: the Kubernetes client is 70 MiB of memory.
  const { loadKubeConfig } = await import('../../common/kubernetes/kube-config.js');
  const { SubjectAccessReviewAuthorizer } = await import('../auth/subject-access-review.js');
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(config.kubeconfig);
  } catch (err) {
    throw new InvalidInputError([{ field: e.kubeconfig, message: errorMessage(err) }], 'coordinator configuration');
  }
  out.authorize = new SubjectAccessReviewAuthorizer({ kubeConfig, log }).authorize;
  log.info('kube api authentication: front proxy, SubjectAccessReview', {
    allowedNames: proxy.allowedNames,
    tokens: tokens?.size ?? 0,
  });
  return out;
}
