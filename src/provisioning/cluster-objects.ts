import type { ProvisionedNode } from '../clusters/provisioning-spec.js';
import { hasRole } from './node-plan.js';

/**
 * The objects a provisioned cluster needs in its own apiserver before it is handed over, from
 * the spec alone (pure): RBAC for the components zcloud issued certificates to, and each node's
 * role labels and taints. The kubelet may not set `node-role.kubernetes.io/*` labels on itself
 * (NodeRestriction), so zcloud applies them with the admin credentials.
 */

/** An object as server-side apply takes it: apiVersion, kind, metadata and the fields zcloud owns. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** Labels zcloud puts on every object it applies: what made it, for whom. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

function clusterRoleBinding(name: string, role: string, user: string): ManifestObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { [MANAGED_BY_LABEL]: 'zcloud' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  };
}

/**
 * Bindings of the identities in the cluster's certificates (certificate-plan.ts) to the roles
 * they act in: the apiserver calling kubelets (logs, exec, metrics) and kube-proxy watching
 * services and endpoints. Named, not left to group membership, so an operator sees why each
 * identity may do what it does.
 */
export function rbacObjects(): ManifestObject[] {
  return [
    clusterRoleBinding('zcloud:kube-apiserver-kubelet-api-admin', 'system:kubelet-api-admin', 'kube-apiserver-kubelet-client'),
    clusterRoleBinding('zcloud:kube-proxy-node-proxier', 'system:node-proxier', 'system:kube-proxy'),
  ];
}

export const NODE_ROLE_LABEL_PREFIX = 'node-role.kubernetes.io/';

/** `node-role.kubernetes.io/<role>=true` for each of the node's roles (RKE's convention). */
export function nodeRoleLabels(node: ProvisionedNode): Record<string, string> {
  return Object.fromEntries(node.roles.map((role) => [`${NODE_ROLE_LABEL_PREFIX}${role}`, 'true']));
}

/**
 * The taints zcloud owns on a node: a controlplane node that is not a worker takes no ordinary
 * pods, nor does an etcd-only node (RKE's taints, same keys).
 */
export function nodeRoleTaints(node: ProvisionedNode): Taint[] {
  if (hasRole(node, 'worker')) return [];
  const taints: Taint[] = [];
  if (hasRole(node, 'controlplane')) taints.push({ key: `${NODE_ROLE_LABEL_PREFIX}controlplane`, value: 'true', effect: 'NoSchedule' });
  if (hasRole(node, 'etcd')) taints.push({ key: `${NODE_ROLE_LABEL_PREFIX}etcd`, value: 'true', effect: 'NoExecute' });
  return taints;
}

/** The node's labels as an apply body: only the labels zcloud owns, so others' labels stay. */
export function nodeLabelObject(node: ProvisionedNode): ManifestObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: node.name, labels: nodeRoleLabels(node) } };
}

/**
 * The node's taint list with zcloud's taints present: `current` (what the node has, e.g. the
 * node controller's `not-ready` taints) plus any of `wanted` it lacks; undefined when nothing is
 * missing, so a re-run writes nothing. Taints are an atomic list in Kubernetes 1.20, so zcloud
 * never applies the list as its own: it adds to what is there.
 */
export function withTaints(current: readonly Taint[], wanted: readonly Taint[]): Taint[] | undefined {
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect && (a.value ?? '') === (b.value ?? '');
  const missing = wanted.filter((w) => !current.some((c) => same(c, w)));
  return missing.length === 0 ? undefined : [...current, ...missing];
}
