import type { KubeObject, OwnerReference } from '../kube/kube-object.js';
import type { ObjectReader } from '../kube/object-store.js';

/** What a pod belongs to, in zcloud's kind names (a bare pod is its own workload: kind 'pod'). */
export interface WorkloadRef {
  kind: 'deployment' | 'replicaset' | 'statefulset' | 'daemonset' | 'cronjob' | 'job' | 'pod';
  name: string;
}

const DIRECT: Record<string, WorkloadRef['kind']> = { StatefulSet: 'statefulset', DaemonSet: 'daemonset' };

function controllerOf(object: KubeObject): OwnerReference | undefined {
  const owners = object.metadata.ownerReferences ?? [];
  return owners.find((o) => o.controller) ?? owners[0];
}

/**
 * Follows the pod's controller chain to the workload a user manages: ReplicaSet → Deployment,
 * Job → CronJob, StatefulSet and DaemonSet directly. When the middle object is not (yet) in the
 * cache, or has no owner, the chain stops there (kind 'replicaset' or 'job').
 */
export function workloadOf(pod: KubeObject, replicasets: ObjectReader, jobs: ObjectReader): WorkloadRef {
  const owner = controllerOf(pod);
  if (!owner) return { kind: 'pod', name: pod.metadata.name };
  const namespace = pod.metadata.namespace;
  if (owner.kind === 'ReplicaSet') {
    const parent = lookupController(replicasets, namespace, owner.name);
    return parent?.kind === 'Deployment' ? { kind: 'deployment', name: parent.name } : { kind: 'replicaset', name: owner.name };
  }
  if (owner.kind === 'Job') {
    const parent = lookupController(jobs, namespace, owner.name);
    return parent?.kind === 'CronJob' ? { kind: 'cronjob', name: parent.name } : { kind: 'job', name: owner.name };
  }
  const kind = DIRECT[owner.kind];
  return kind ? { kind, name: owner.name } : { kind: 'pod', name: pod.metadata.name };
}

function lookupController(store: ObjectReader, namespace: string | undefined, name: string): OwnerReference | undefined {
  const object = store.get(namespace, name);
  return object && controllerOf(object);
}
