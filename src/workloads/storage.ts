import { ignoreNotFound } from '../errors.js';
import type { ClusterClient } from '../kube/cluster-client.js';
import type { ClaimTemplate, KubeVolume, PersistentVolumeClaimObject, PersistentVolumeClaimSpec, PodTemplate } from '../kube/objects.js';
import type { PersistentVolumeInput } from './pod-template.js';

/**
 * persistentVolumes of a workload: `temporary` ones are emptyDirs in the pod template (see
 * pod-template.ts); the others are PersistentVolumeClaims of the named storage class, created
 * by zcloud next to a deployment or daemonset (`<workload>-<volume>`), or claim templates of a
 * statefulset (its controller creates `<volume>-<workload>-<ordinal>`).
 */

export interface PersistentVolumeView {
  name: string;
  size?: string;
  storageClassName: string;
}

/** Shared file systems can be mounted by many pods; block storage (lvm) by one node. */
function accessModesOf(storageClassName: string): string[] {
  return storageClassName === 'nfs' || storageClassName === 'cephfs' ? ['ReadWriteMany'] : ['ReadWriteOnce'];
}

function claimSpec(pv: PersistentVolumeInput): PersistentVolumeClaimSpec {
  return {
    storageClassName: pv.storageClassName,
    accessModes: accessModesOf(pv.storageClassName),
    resources: { requests: { storage: pv.size ?? '' } },
  };
}

export function claimName(workload: string, volume: string): string {
  return `${workload}-${volume}`;
}

/** The claims to create for a deployment or daemonset (temporary volumes need none). */
export function claimsOf(workload: string, namespace: string, volumes: readonly PersistentVolumeInput[] | undefined): PersistentVolumeClaimObject[] {
  return (volumes ?? [])
    .filter((pv) => pv.storageClassName !== 'temporary')
    .map((pv) => ({ metadata: { name: claimName(workload, pv.name), namespace, labels: { app: workload } }, spec: claimSpec(pv) }));
}

/** Pod volume of a claim created by `claimsOf`. */
export function claimVolumeFor(workload: string): (pv: PersistentVolumeInput) => KubeVolume {
  return (pv) => ({ name: pv.name, persistentVolumeClaim: { claimName: claimName(workload, pv.name) } });
}

export function claimTemplatesOf(volumes: readonly PersistentVolumeInput[] | undefined): ClaimTemplate[] {
  return (volumes ?? []).filter((pv) => pv.storageClassName !== 'temporary').map((pv) => ({ metadata: { name: pv.name }, spec: claimSpec(pv) }));
}

function viewOf(name: string, spec: PersistentVolumeClaimSpec | undefined): PersistentVolumeView {
  const size = spec?.resources?.requests?.storage;
  return { name, ...(size ? { size } : {}), storageClassName: spec?.storageClassName ?? '' };
}

/**
 * Kubernetes → zcloud persistentVolumes: emptyDirs, claims (their size and class read from the
 * claim through `claimOf`, if it still exists) and claim templates.
 */
export function persistentVolumesToApi(
  template: PodTemplate | undefined,
  claimOf: (name: string) => PersistentVolumeClaimObject | undefined,
  claimTemplates: readonly ClaimTemplate[] = [],
): PersistentVolumeView[] {
  const out: PersistentVolumeView[] = [];
  for (const volume of template?.spec?.volumes ?? []) {
    if (volume.emptyDir) out.push({ name: volume.name, ...(volume.emptyDir.sizeLimit ? { size: volume.emptyDir.sizeLimit } : {}), storageClassName: 'temporary' });
    else if (volume.persistentVolumeClaim) out.push(viewOf(volume.name, claimOf(volume.persistentVolumeClaim.claimName)?.spec));
  }
  for (const claim of claimTemplates) out.push(viewOf(claim.metadata.name, claim.spec));
  return out;
}

/** Names of the claims a pod template mounts. */
export function mountedClaims(template: PodTemplate | undefined): string[] {
  return (template?.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
}

/**
 * Creates `claims`, then runs `create`. If anything fails, the claims created here are deleted
 * again before the error propagates, so a failed create leaves nothing behind.
 */
export async function withClaims<T>(client: ClusterClient, claims: readonly PersistentVolumeClaimObject[], create: () => Promise<T>): Promise<T> {
  const created: PersistentVolumeClaimObject[] = [];
  try {
    for (const claim of claims) created.push(await client.create('persistentvolumeclaims', claim));
    return await create();
  } catch (err) {
    await deleteClaims(client, created[0]?.metadata.namespace ?? '', created.map((c) => c.metadata.name));
    throw err;
  }
}

/** Deletes the named claims; ones already gone are fine. */
export async function deleteClaims(client: ClusterClient, namespace: string, names: readonly string[]): Promise<void> {
  for (const name of names) await client.delete('persistentvolumeclaims', namespace, name).catch(ignoreNotFound);
}
