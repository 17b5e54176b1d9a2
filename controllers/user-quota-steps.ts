import type { KubeObject } from '../src/kube/kube-object.js';
import type { ResourceQuotaObject } from '../src/kube/objects.js';
import { parseQuantity } from '../src/kube/quantity.js';
import {
  CREATED_BY_ANNOTATION,
  OWNER_ANNOTATION,
  QUOTA_LABEL,
  QUOTA_OBJECT_NAME,
  type QuotaFigures,
  type UserQuotaRecord,
} from '../src/quotas/user-quota.js';
import type { Project } from '../src/users.js';

/** What the reconciler sees of the world for one request. */
export interface QuotaObservation {
  cluster: 'missing' | 'unavailable' | 'available';
  namespace?: KubeObject;
  quota?: ResourceQuotaObject;
  /** The owner's projects; undefined when the user no longer exists. */
  userProjects?: readonly Project[];
}

/** The one next thing to do. Pure: decided from the record and the observation alone. */
export type QuotaStep =
  | { kind: 'create-namespace' }
  | { kind: 'adopt-namespace' }
  | { kind: 'create-quota'; quota: ResourceQuotaObject }
  | { kind: 'update-quota'; quota: ResourceQuotaObject }
  | { kind: 'grant-project' }
  | { kind: 'delete-namespace' }
  | { kind: 'revoke-project' }
  | { kind: 'forget' }
  | { kind: 'wait'; message: string }
  | { kind: 'stuck'; message: string }
  | { kind: 'done' };

export function desiredQuota(record: UserQuotaRecord, figures: QuotaFigures): ResourceQuotaObject {
  return {
    metadata: {
      name: QUOTA_OBJECT_NAME,
      namespace: record.namespace,
      labels: { [QUOTA_LABEL]: record.id },
      annotations: { [OWNER_ANNOTATION]: record.userName },
    },
    spec: { hard: { 'requests.cpu': figures.cpu, 'requests.memory': figures.memory, 'requests.storage': figures.storage } },
  };
}

function sameQuantity(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return parseQuantity(a) === parseQuantity(b);
  } catch {
    return a === b;
  }
}

/** Whether the live quota enforces exactly the approved figures and carries our marks. */
export function quotaMatches(live: ResourceQuotaObject, desired: ResourceQuotaObject): boolean {
  const hard = live.spec?.hard ?? {};
  const want = desired.spec!.hard!;
  if (Object.keys(hard).length !== Object.keys(want).length) return false;
  for (const [key, value] of Object.entries(want)) if (!sameQuantity(hard[key], value)) return false;
  return live.metadata.labels?.[QUOTA_LABEL] === desired.metadata.labels![QUOTA_LABEL];
}

function holdsProject(projects: readonly Project[] | undefined, cluster: string, namespace: string): boolean {
  return Boolean(projects?.some((p) => p.cluster === cluster && p.namespace === namespace));
}

/**
 * Order matters for safety: namespace, then its quota, then the grant. A user is never granted
 * a namespace without its limits; deletion revokes before it deletes.
 */
export function nextQuotaStep(record: UserQuotaRecord, seen: QuotaObservation): QuotaStep {
  const approved = record.approved;
  if (record.deleting) {
    if (!approved) return { kind: 'forget' };
    if (holdsProject(seen.userProjects, approved.clusterName, record.namespace)) return { kind: 'revoke-project' };
    if (seen.cluster === 'missing') return { kind: 'forget' };
    if (seen.cluster === 'unavailable') return { kind: 'wait', message: `waiting for cluster ${approved.clusterName} to delete namespace ${record.namespace}` };
    const ns = seen.namespace;
    const createdByUs = ns?.metadata.annotations?.[CREATED_BY_ANNOTATION] === record.id;
    if (ns && createdByUs && !ns.metadata.deletionTimestamp) return { kind: 'delete-namespace' };
    return { kind: 'forget' };
  }
  if (!approved) return { kind: 'done' };
  if (seen.cluster === 'missing') return { kind: 'stuck', message: `cluster ${approved.clusterName} is no longer registered` };
  if (seen.cluster === 'unavailable') return { kind: 'wait', message: `waiting for cluster ${approved.clusterName} to be reachable` };
  const ns = seen.namespace;
  if (!ns) return { kind: 'create-namespace' };
  if (ns.metadata.deletionTimestamp) return { kind: 'wait', message: `namespace ${record.namespace} is terminating` };
  const owner = ns.metadata.labels?.[QUOTA_LABEL];
  if (owner !== undefined && owner !== record.id) return { kind: 'stuck', message: `namespace ${record.namespace} belongs to quota request ${owner}` };
  if (owner === undefined) return { kind: 'adopt-namespace' };
  const desired = desiredQuota(record, approved);
  if (!seen.quota) return { kind: 'create-quota', quota: desired };
  if (!quotaMatches(seen.quota, desired)) return { kind: 'update-quota', quota: desired };
  if (seen.userProjects === undefined) return { kind: 'stuck', message: `user ${record.userName} no longer exists` };
  if (!holdsProject(seen.userProjects, approved.clusterName, record.namespace)) return { kind: 'grant-project' };
  return { kind: 'done' };
}
