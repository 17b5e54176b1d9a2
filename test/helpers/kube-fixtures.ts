import { CoreV1Api, StorageV1Api, type KubeConfig, type V1ResourceRequirements } from '@kubernetes/client-node';

/**
 * Real Kubernetes objects the quota and storage suites set up with client-node: storage
 * classes nothing provisions for, hostPath volumes of them that the controller-manager binds
 * claims to (nothing is ever mounted), and pods whose admission is the thing checked.
 */
export class KubeFixtures {
  readonly core: CoreV1Api;
  readonly storage: StorageV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.storage = kc.makeApiClient(StorageV1Api);
  }

  async storageClass(name: string, annotations: Record<string, string> = {}): Promise<void> {
    await this.storage.createStorageClass({
      body: { metadata: { name, annotations }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'Immediate' },
    });
  }

  async volume(name: string, storageClassName: string, size: string): Promise<void> {
    await this.core.createPersistentVolume({
      body: {
        metadata: { name },
        spec: { storageClassName, capacity: { storage: size }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/srv/${name}` } },
      },
    });
  }

  async claim(namespace: string, name: string, storageClassName: string, size: string): Promise<void> {
    await this.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: { metadata: { name }, spec: { storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } } },
    });
  }

  async podMounting(namespace: string, name: string, claimName: string): Promise<void> {
    await this.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          containers: [{ name: 'app', image: 'nginx', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
        },
      },
    });
  }

  /**
   * Creates a one-container pod with `resources` and says what the apiserver answered:
   * 'created', or the HTTP status of the refusal (403 when a quota or limit range forbids it).
   */
  async podAdmission(namespace: string, name: string, resources: V1ResourceRequirements): Promise<'created' | number> {
    const body = { metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx', resources }] } };
    return this.core.createNamespacedPod({ namespace, body }).then(
      () => 'created' as const,
      (err: { code?: number }) => err.code ?? -1,
    );
  }
}
