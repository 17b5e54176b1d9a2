import type { KubeHttp } from '../kube/kube-http.js';
import type { ManifestObject } from './cluster-objects.js';

/**
 * Server-side apply of zcloud's objects to a provisioned cluster's apiserver, as field manager
 * `zcloud`: an object already as wanted is left unchanged (same resourceVersion), so a re-run
 * writes nothing; conflicts with other managers are forced, since these objects are zcloud's.
 */

export const FIELD_MANAGER = 'zcloud';

/** Where each kind zcloud applies lives: its plural, and whether it is namespaced. */
const resources: Record<string, { plural: string; namespaced: boolean }> = {
  Namespace: { plural: 'namespaces', namespaced: false },
  Node: { plural: 'nodes', namespaced: false },
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  DaemonSet: { plural: 'daemonsets', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  IngressClass: { plural: 'ingressclasses', namespaced: false },
};

/** The REST path of `object`: `/api/v1/...` for the core group, `/apis/<group>/<version>/...` else. */
export function manifestPath(object: Pick<ManifestObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const resource = resources[object.kind];
  if (!resource) throw new Error(`zcloud does not apply ${object.kind} objects`);
  const prefix = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const namespace = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
  return `${prefix}${namespace}/${resource.plural}/${object.metadata.name}`;
}

export interface AppliedObject {
  metadata: { name: string; resourceVersion: string };
}

export async function applyObject(http: KubeHttp, object: ManifestObject, signal?: AbortSignal): Promise<AppliedObject> {
  return http.request<AppliedObject>('PATCH', manifestPath(object), {
    body: object,
    // JSON is YAML: the apply content type takes either.
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force: true },
    signal,
  });
}
