import { KubeApiError, type KubeHttp } from '../kube/kube-http.js';
import type { Logger } from '../logger.js';
import { ensureCrd, MIRROR_LABEL, objectNameOf } from '../store/kubernetes-store.js';
import { STORE_GROUP, STORE_VERSION, storedKind } from '../store/store-kinds.js';

export interface ClusterStatus {
  state: string;
  version: string;
  nodes: number;
}

export interface UserQuotaStatus {
  /** The decision: processing, approval, rejection. */
  phase: string;
  applied: boolean;
  message: string;
}

/**
 * Where reconcilers report what they observed, for kubectl users: the status subresource of
 * the `zcloud.cn` objects. Writes only when a status changed since this process last wrote it.
 * Never throws: the report is for readers; a failed write is logged and tried again at the
 * next change or resync.
 */
export interface ResourceStatus {
  cluster(name: string, status: ClusterStatus): Promise<void>;
  /** `spec` is what the mirror object shows (the record, never a secret). */
  userQuota(id: string, spec: object, status: UserQuotaStatus): Promise<void>;
  /** The request is gone: its mirror goes too (the store's own object went with the record). */
  userQuotaRemoved(id: string): Promise<void>;
}

export interface KubeResourceStatusOptions {
  http: KubeHttp;
  namespace: string;
  /**
   * `store`: the objects are the kubernetes store's records; only their status is written.
   * `mirror`: the file store holds the records; zcloud keeps a copy (spec without secrets,
   * status) in its home cluster, made on first write.
   */
  mode: 'store' | 'mirror';
  logger: Logger;
}

export class KubeResourceStatus implements ResourceStatus {
  readonly #options: KubeResourceStatusOptions;
  readonly #written = new Map<string, string>();
  readonly #crds = new Map<string, Promise<void>>();

  constructor(options: KubeResourceStatusOptions) {
    this.#options = options;
  }

  cluster(name: string, status: ClusterStatus): Promise<void> {
    // The mirror shows how zcloud reaches the cluster, never its kubeconfig.
    return this.write('clusters', name, {}, status);
  }

  userQuota(id: string, spec: object, status: UserQuotaStatus): Promise<void> {
    return this.write('userquotas', id, spec, status);
  }

  async userQuotaRemoved(id: string): Promise<void> {
    const kind = storedKind('userquotas');
    this.#written.delete(`${kind.plural}/${id}`);
    if (this.#options.mode !== 'mirror') return;
    const path = `/apis/${STORE_GROUP}/${STORE_VERSION}/namespaces/${this.#options.namespace}/${kind.plural}/${objectNameOf(id)}`;
    await this.#options.http.request('DELETE', path).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 404)) this.#options.logger.warn('status mirror not deleted', { object: path, error: (err as Error).message });
    });
  }

  private async write(collection: string, id: string, spec: object, status: object): Promise<void> {
    const kind = storedKind(collection);
    const key = `${kind.plural}/${id}`;
    const text = JSON.stringify({ spec: this.#options.mode === 'mirror' ? spec : undefined, status });
    if (this.#written.get(key) === text) return;
    const { http, namespace, mode, logger } = this.#options;
    const path = `/apis/${STORE_GROUP}/${STORE_VERSION}/namespaces/${namespace}/${kind.plural}/${objectNameOf(id)}`;
    const patch = (suffix: string, body: object) => http.request('PATCH', `${path}${suffix}`, { body, contentType: 'application/merge-patch+json' });
    try {
      if (mode === 'mirror') await this.ensureMirror(collection, id, spec);
      await patch('/status', { status });
      this.#written.set(key, text);
    } catch (err) {
      // The record is gone (store mode): there is nothing to report on.
      if (err instanceof KubeApiError && err.status === 404 && mode === 'store') return;
      logger.warn('status not written', { object: key, error: (err as Error).message });
    }
  }

  private async ensureMirror(collection: string, id: string, spec: object): Promise<void> {
    const kind = storedKind(collection);
    const { http, namespace } = this.#options;
    let crd = this.#crds.get(kind.plural);
    if (!crd) {
      crd = ensureCrd(http, kind);
      this.#crds.set(kind.plural, crd);
      crd.catch(() => this.#crds.delete(kind.plural));
    }
    await crd;
    const base = `/apis/${STORE_GROUP}/${STORE_VERSION}/namespaces/${namespace}/${kind.plural}`;
    const name = objectNameOf(id);
    try {
      await http.request('PATCH', `${base}/${name}`, { body: { spec }, contentType: 'application/merge-patch+json' });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      await http.request('POST', base, {
        body: {
          apiVersion: `${STORE_GROUP}/${STORE_VERSION}`,
          kind: kind.kind,
          metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'zcloud', [MIRROR_LABEL]: 'true' }, annotations: { 'zcloud.cn/id': id } },
          spec,
        },
      });
    }
  }
}
