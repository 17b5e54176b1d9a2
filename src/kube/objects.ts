import type { KubeObject } from './kube-object.js';

/**
 * The Kubernetes objects zcloud reads and writes, one declaration each, as the apiserver sends
 * them in JSON: only the fields zcloud uses, every one optional where the apiserver may leave it
 * out. client-node's V1* models are not used for these: they type timestamps as Date (what its
 * ObjectSerializer makes of them), while the informer cache holds the JSON as sent (strings),
 * and they require fields zcloud never sets on the objects it builds (a pod spec's containers).
 */

// ---- Pod templates (workloads, ReplicaSets, ControllerRevisions, Jobs).
export interface KubeContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}
export interface KubeContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  ports?: KubeContainerPort[];
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  [field: string]: unknown;
}
export interface KubeVolume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: { sizeLimit?: string };
  [field: string]: unknown;
}
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  spec?: { containers?: KubeContainer[]; volumes?: KubeVolume[]; restartPolicy?: string; [field: string]: unknown };
}

// ---- Storage.
export interface PersistentVolumeClaimSpec {
  storageClassName?: string;
  accessModes?: string[];
  volumeName?: string;
  resources?: { requests?: Record<string, string> };
}
export interface PersistentVolumeClaimObject extends KubeObject {
  spec?: PersistentVolumeClaimSpec;
  status?: { phase?: string; capacity?: Record<string, string> };
}
/** A statefulset's claim template: its controller creates `<name>-<statefulset>-<ordinal>`. */
export interface ClaimTemplate {
  metadata: { name: string };
  spec: PersistentVolumeClaimSpec;
}

// ---- Workloads.
export interface WorkloadSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string> };
  template?: PodTemplate;
  volumeClaimTemplates?: ClaimTemplate[];
  [field: string]: unknown;
}
/** A Deployment, StatefulSet or DaemonSet: the fields zcloud reads are common to the three. */
export interface WorkloadObject extends KubeObject {
  spec?: WorkloadSpec;
  status?: Record<string, unknown>;
}
export type DeploymentObject = WorkloadObject;
export type StatefulSetObject = WorkloadObject;
export type DaemonSetObject = WorkloadObject;

export interface ReplicaSetObject extends KubeObject {
  spec?: { replicas?: number; template?: PodTemplate };
}
export interface ControllerRevisionObject extends KubeObject {
  revision?: number;
  data?: { spec?: { template?: PodTemplate & { $patch?: string } } };
}

// ---- Configuration.
export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
export interface SecretObject extends KubeObject {
  type?: string;
  /** Values base64-encoded, as the apiserver stores them. */
  data?: Record<string, string>;
}
