import type { KubeObject } from './kube-object.js';

/**
 * The Kubernetes objects zcloud reads and writes, one declaration each, as the apiserver sends
 * them in JSON: only the fields zcloud uses, every one optional where the apiserver may leave it
 * out. client-node's V1* models are not used for these: they type timestamps as Date (what its
 * ObjectSerializer makes of them), while the informer cache holds the JSON as sent (strings),
 * and they require fields zcloud never sets on the objects it builds (a pod spec's containers).
 */

/** Resource name → quantity ("cpu": "500m", "memory": "128Mi"). */
export type ResourceList = Record<string, string>;

/** A status condition; which fields are set depends on the kind. */
export interface KubeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string;
}

// ---- Pods and pod templates (workloads, ReplicaSets, ControllerRevisions, Jobs).
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
  resources?: { requests?: ResourceList; limits?: ResourceList };
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
export interface PodSpec {
  nodeName?: string;
  hostNetwork?: boolean;
  initContainers?: KubeContainer[];
  containers?: KubeContainer[];
  volumes?: KubeVolume[];
  restartPolicy?: string;
  [field: string]: unknown;
}
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  spec?: PodSpec;
}

/** A container state's details; which are set depends on the state. */
export interface ContainerStateDetails {
  containerID?: string;
  exitCode?: number;
  signal?: number;
  message?: string;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
}
export interface ContainerState {
  waiting?: ContainerStateDetails;
  running?: ContainerStateDetails;
  terminated?: ContainerStateDetails;
}
export interface ContainerStatus {
  name: string;
  containerID?: string;
  image?: string;
  imageID?: string;
  ready?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}
export interface PodObject extends KubeObject {
  spec?: PodSpec;
  status?: {
    phase?: string;
    reason?: string;
    hostIP?: string;
    podIP?: string;
    startTime?: string;
    qosClass?: string;
    conditions?: KubeCondition[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
    [field: string]: unknown;
  };
}

// ---- Nodes.
export interface NodeObject extends KubeObject {
  spec?: { unschedulable?: boolean; podCIDR?: string };
  status?: {
    allocatable?: ResourceList;
    capacity?: ResourceList;
    conditions?: KubeCondition[];
    addresses?: Array<{ type: string; address: string }>;
    nodeInfo?: { containerRuntimeVersion?: string; operatingSystem?: string; osImage?: string };
  };
}

// ---- Storage.
export interface PersistentVolumeObject extends KubeObject {
  spec?: {
    capacity?: ResourceList;
    storageClassName?: string;
    claimRef?: { kind?: string; name?: string; namespace?: string };
  };
  status?: { phase?: string };
}
export interface StorageClassObject extends KubeObject {
  provisioner?: string;
}
export interface PersistentVolumeClaimSpec {
  storageClassName?: string;
  accessModes?: string[];
  volumeName?: string;
  resources?: { requests?: ResourceList };
}
export interface PersistentVolumeClaimObject extends KubeObject {
  spec?: PersistentVolumeClaimSpec;
  status?: { phase?: string; capacity?: ResourceList };
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

export interface JobSpec {
  template?: PodTemplate;
  [field: string]: unknown;
}
export interface JobObject extends KubeObject {
  spec?: JobSpec;
  status?: Record<string, unknown>;
}
export interface CronJobObject extends KubeObject {
  spec?: { schedule?: string; jobTemplate?: { spec?: JobSpec }; [field: string]: unknown };
  status?: { lastScheduleTime?: string; active?: Array<Record<string, string>> };
}

// ---- Services and ingresses.
export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  /** A number, or the name of a container port (services made outside zcloud). */
  targetPort?: number | string;
  nodePort?: number;
}
export interface ServiceObject extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
  };
}

/** A backend in either served shape: networking.k8s.io/v1 (`service`) or v1beta1 (`serviceName`/`servicePort`). */
export interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
  serviceName?: string;
  servicePort?: number | string;
}
export interface IngressObject extends KubeObject {
  spec?: {
    /** v1 */
    defaultBackend?: IngressBackend;
    /** v1beta1 */
    backend?: IngressBackend;
    rules?: Array<{
      host?: string;
      http?: { paths: Array<{ path?: string; pathType?: string; backend: IngressBackend }> };
    }>;
  };
}

// ---- Namespace policy.
export interface ResourceQuotaObject extends KubeObject {
  spec?: { hard?: ResourceList; [field: string]: unknown };
  status?: { hard?: ResourceList; used?: ResourceList };
}
export interface LimitRangeObject extends KubeObject {
  spec?: { limits?: Array<{ type: string; max?: ResourceList; min?: ResourceList; [field: string]: unknown }> };
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
