import type { ClusterRuntime } from '../clusters/cluster-manager.js';
import { ClusterUnavailableError } from '../errors.js';
import type { Informer } from './informer.js';
import { translateKubeError } from './kube-errors.js';
import { KubeApiError } from './kube-http.js';
import type { KubeObject } from './kube-object.js';
import type { CachedKindName } from './resource-kind.js';

const CRD_COLLECTION = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/**
 * The synced cache of optional kind `name` in `runtime`'s cluster, installing `crd` first when
 * the cluster does not serve the kind yet. Idempotent: a CRD installed already (by an earlier
 * call, another zcloud, or an operator) is used as it is.
 * Throws ClusterUnavailableError when the apiserver does not start serving the kind in time.
 */
export async function ensureCustomResourceCache<T extends KubeObject>(
  runtime: ClusterRuntime,
  name: CachedKindName,
  crd: { metadata: { name: string }; spec: { names: { kind: string } } },
): Promise<Informer<T>> {
  const cached = runtime.cache.informer<T>(name);
  if (cached?.hasSynced) return cached;
  const kind = crd.spec.names.kind;
  const what = `install the ${kind} CRD in cluster ${runtime.name}`;
  try {
    if (!cached) await runtime.http.request('POST', CRD_COLLECTION, { body: crd, signal: runtime.signal });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw translateKubeError(err, what);
  }
  let informer: Informer<T> | undefined;
  try {
    informer = await runtime.cache.ensureInformer<T>(name);
  } catch (err) {
    throw translateKubeError(err, `discover ${name} in cluster ${runtime.name}`);
  }
  if (!informer) throw new ClusterUnavailableError(`${what}: the cluster does not serve ${name} yet`);
  return informer;
}
