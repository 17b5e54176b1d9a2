/**
 * The custom resources of `zcloud.cn` that hold zcloud's state on the Kubernetes store, one
 * kind per collection or log (src/store/kubernetes-store.ts). deploy/crds/zcloud-store.yaml
 * holds the same CRDs; a unit test keeps the two equal.
 */
export const STORE_GROUP = 'zcloud.cn';
export const STORE_VERSION = 'v1';

export interface StoredKind {
  plural: string;
  kind: string;
  /** kubectl get columns beyond NAME and AGE. */
  columns?: { name: string; jsonPath: string; type: 'string' | 'integer' | 'boolean' | 'date' }[];
  /**
   * Where the records' secret fields (src/store/sealed-fields.ts) are kept: sealed in the
   * object (the default), or in one Secret per record, `<namePrefix><object name>`, owned by
   * the object (src/store/record-secrets.ts).
   */
  secrets?: { kind: 'secret-per-record'; namePrefix: string };
}

/** By collection or log name (src/store/store.ts). */
export const STORED_KINDS: Readonly<Record<string, StoredKind>> = {
  users: { plural: 'users', kind: 'User' },
  revokedTokens: { plural: 'revokedtokens', kind: 'RevokedToken' },
  auditlogs: { plural: 'auditlogs', kind: 'AuditLog' },
  // Status is what zcloud's reconcilers observed (src/status/resource-status.ts), not part of the record.
  clusters: {
    plural: 'clusters',
    kind: 'Cluster',
    // Kubeconfigs, SSH keys and registry passwords where Kubernetes users expect them.
    secrets: { kind: 'secret-per-record', namePrefix: 'zcloud-cluster-' },
    columns: [
      { name: 'Status', type: 'string', jsonPath: '.status.state' },
      { name: 'Version', type: 'string', jsonPath: '.status.version' },
      { name: 'Nodes', type: 'integer', jsonPath: '.status.nodes' },
    ],
  },
  userquotas: {
    plural: 'userquotas',
    kind: 'UserQuota',
    columns: [
      { name: 'Requester', type: 'string', jsonPath: '.spec.userName' },
      { name: 'Cluster', type: 'string', jsonPath: '.spec.approved.clusterName' },
      { name: 'Namespace', type: 'string', jsonPath: '.spec.namespace' },
      { name: 'Status', type: 'string', jsonPath: '.status.phase' },
      { name: 'Applied', type: 'boolean', jsonPath: '.status.applied' },
    ],
  },
  clusterpki: { plural: 'clusterpkis', kind: 'ClusterPki' },
  provisioningjournals: { plural: 'provisioningjournals', kind: 'ProvisioningJournal' },
};

export function storedKind(collection: string): StoredKind {
  const kind = STORED_KINDS[collection];
  if (!kind) throw new Error(`collection ${collection} has no zcloud.cn kind (src/store/store-kinds.ts)`);
  return kind;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The CRD of one stored kind: `spec` is the record (secret fields sealed), `status` what reconcilers report. */
export function storeCrd(kind: StoredKind): CustomResourceDefinition {
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.plural}.${STORE_GROUP}`, labels: { 'app.kubernetes.io/managed-by': 'zcloud' } },
    spec: {
      group: STORE_GROUP,
      scope: 'Namespaced',
      names: { plural: kind.plural, singular: kind.kind.toLowerCase(), kind: kind.kind, listKind: `${kind.kind}List`, categories: ['zcloud'] },
      versions: [
        {
          name: STORE_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: open, status: open } } },
          ...(kind.columns ? { additionalPrinterColumns: [...kind.columns, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }] } : {}),
        },
      ],
    },
  };
}
