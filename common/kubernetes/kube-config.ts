import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { SlipwayError, errorMessage } from '../errors.js';

/** The Kubernetes client configuration could not be loaded. */
export class KubeConfigError extends SlipwayError {
  readonly reason = 'KubeConfigInvalid';
}

/** Where the service account's token is mounted in a Pod. */
const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The client configuration: the kubeconfig file at `kubeconfigPath` when one is given, otherwise
 * the Pod's service account (in-cluster). Nothing is read from the default kubeconfig locations:
 * a service uses exactly what it was told to.
 * @throws KubeConfigError
 */
export function loadKubeConfig(kubeconfigPath: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) {
    try {
      kc.loadFromFile(kubeconfigPath);
    } catch (err) {
      throw new KubeConfigError(`cannot load the kubeconfig "${kubeconfigPath}": ${errorMessage(err)}`, { cause: err });
    }
    if (!kc.getCurrentCluster())
      throw new KubeConfigError(`the kubeconfig "${kubeconfigPath}" has no current context with a cluster`);
    return kc;
  }
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT || !existsSync(IN_CLUSTER_TOKEN)) {
    throw new KubeConfigError(
      'not running in a Kubernetes Pod (no KUBERNETES_SERVICE_HOST/PORT or service account token); give a kubeconfig',
    );
  }
  kc.loadFromCluster();
  return kc;
}
