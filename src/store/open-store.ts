import { KubeConfig } from '@kubernetes/client-node';
import { detectInCluster, inClusterKubeConfig } from '../clusters/in-cluster.js';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { KubeHttp } from '../kube/kube-http.js';
import type { Logger } from '../logger.js';
import { sharedKeys } from './kubernetes-keys.js';
import { openKubernetesStore } from './kubernetes-store.js';
import { openLowdbStore } from './lowdb-store.js';
import { SecretBox } from './secret-box.js';
import type { Store, StoreDef } from './store.js';

export interface OpenedStore {
  store: Store;
  /** The token signing key every replica shares (kubernetes store); undefined: the data dir's own. */
  jwtSecret?: string;
  /** The apiserver and namespace of the kubernetes store (where the leader Lease lives too). */
  kubernetes?: { http: KubeHttp; namespace: string };
}

/** Opens the store `config.store` names; the kubernetes one on ZCLOUD_STORE_KUBECONFIG's cluster or the pod's own. */
export async function openStore(config: Config, collections: readonly StoreDef[], logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<OpenedStore> {
  if (config.store === 'file') {
    return { store: await openLowdbStore({ dataDir: config.dataDir, collections, ...(config.secretsKey ? { secretsKey: config.secretsKey } : {}) }) };
  }
  const inCluster = detectInCluster(env, config.serviceAccountDir);
  let kc: KubeConfig;
  if (config.storeKubeconfig) {
    kc = new KubeConfig();
    kc.loadFromFile(config.storeKubeconfig);
  } else if (inCluster) {
    kc = inClusterKubeConfig(inCluster);
  } else {
    throw new ConfigError('ZCLOUD_STORE', 'kubernetes needs ZCLOUD_STORE_KUBECONFIG, or zcloud running in a pod');
  }
  const http = new KubeHttp(kc);
  const namespace = config.storeNamespace ?? inCluster?.namespace ?? 'zcloud';
  try {
    const keys = await sharedKeys(http, namespace);
    const secrets = SecretBox.fromKey(config.secretsKey ?? keys.secretsKey, config.secretsKey ? 'ZCLOUD_SECRETS_KEY' : `secret ${namespace}/zcloud-keys`);
    const store = await openKubernetesStore({ http, namespace, collections, secrets, logger });
    return { store, jwtSecret: config.jwtSecret ?? keys.jwtSecret, kubernetes: { http, namespace } };
  } catch (err) {
    http.close();
    throw new Error(`open the kubernetes store in namespace ${namespace} of ${http.server.origin}: ${(err as Error).message}`, { cause: err });
  }
}
