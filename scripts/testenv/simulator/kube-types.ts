/**
 * The few fields of Kubernetes objects the simulator reads and writes, as the apiserver sends
 * them (JSON: times are RFC 3339 strings). Unknown fields are kept on the objects untouched.
 */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  [field: string]: unknown;
}

export interface ResourceList {
  [resource: string]: string;
}

export interface Container {
  name: string;
  image?: string;
  /** Only literal values are simulated; `valueFrom` entries are left out of a shell's environment. */
  env?: { name: string; value?: string }[];
  resources?: { requests?: ResourceList; limits?: ResourceList };
}

export interface ContainerState {
  running?: { startedAt: string };
  waiting?: { reason: string; message?: string };
  terminated?: { exitCode: number; reason: string; startedAt: string; finishedAt: string; containerID?: string };
}

export interface ContainerStatus {
  name: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID: string;
  state: ContainerState;
  lastState: ContainerState;
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
}

export interface PodStatus {
  phase?: string;
  conditions?: PodCondition[];
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  qosClass?: string;
  [field: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: { nodeName?: string; containers: Container[]; initContainers?: Container[]; [field: string]: unknown };
  status?: PodStatus;
}

export interface List<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

/** One line of a watch stream. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** The body of an error response, and of a watch ERROR event. */
export interface Status {
  kind: 'Status';
  code?: number;
  reason?: string;
  message?: string;
}
