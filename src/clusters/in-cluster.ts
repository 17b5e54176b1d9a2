import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Where the kubelet mounts a pod's service-account credentials. */
export const DEFAULT_SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The cluster zcloud runs in, as its pod sees it: the apiserver address from the
 * `KUBERNETES_SERVICE_HOST`/`_PORT` env the kubelet sets, the CA and token the kubelet mounts.
 */
export interface InClusterConfig {
  /** https://host:port of the apiserver. */
  server: string;
  caFile: string;
  tokenFile: string;
  /** The pod's namespace (the `namespace` file), if mounted. */
  namespace?: string;
}

/**
 * Detects the in-cluster config: undefined unless both env vars are set and `serviceAccountDir`
 * holds `token` and `ca.crt`, i.e. outside a pod (a laptop, a VM) nothing is detected.
 */
export function detectInCluster(env: NodeJS.ProcessEnv, serviceAccountDir: string): InClusterConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(serviceAccountDir, 'token');
  const caFile = path.join(serviceAccountDir, 'ca.crt');
  if (!host || !port || !existsSync(tokenFile) || !existsSync(caFile)) return undefined;
  const namespaceFile = path.join(serviceAccountDir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  const hostPart = net.isIPv6(host) ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, caFile, tokenFile, ...(namespace ? { namespace } : {}) };
}

/**
 * A client-node config for the in-cluster apiserver. The token is read from its file (again
 * every minute, by client-node's tokenFile provider): the kubelet rotates bound tokens in place.
 */
export function inClusterKubeConfig(config: InClusterConfig): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'in-cluster', server: config.server, caFile: config.caFile, skipTLSVerify: false },
    { name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: config.tokenFile } } },
  );
  return kc;
}

/**
 * A kubeconfig for child processes (helm) that names the CA and token files instead of holding
 * their content: nothing secret is in it, and client-go re-reads `tokenFile` as the kubelet
 * rotates it. JSON, which every kubeconfig reader takes as YAML.
 */
export function inClusterKubeconfigFile(config: InClusterConfig): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'in-cluster', cluster: { server: config.server, 'certificate-authority': config.caFile } }],
    users: [{ name: 'service-account', user: { tokenFile: config.tokenFile } }],
    contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user: 'service-account', ...(config.namespace ? { namespace: config.namespace } : {}) } }],
    'current-context': 'in-cluster',
  });
}
