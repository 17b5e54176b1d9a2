import { NotFoundError } from '../errors.js';
import type { ClusterCache } from './cluster-cache.js';
import { translateKubeError } from './kube-errors.js';
import type { KubeHttp } from './kube-http.js';
import type { KubeObject } from './kube-object.js';
import { apiVersionOf, collectionPath, objectPath, type CachedKindName, type ResourceKind } from './resource-kind.js';

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
}

/**
 * Writes to one cluster. Every write waits (bounded) until the cluster's cache has caught up
 * with it, so the write's response and any read after it see the change (read-your-writes).
 * Failures arrive as zcloud business errors (see translateKubeError).
 */
export class ClusterClient {
  constructor(
    readonly clusterName: string,
    private readonly http: KubeHttp,
    private readonly cache: ClusterCache,
    /** Longest wait for the cache after a write. */
    private readonly cacheWaitMs = 5000,
  ) {}

  private kindOf(name: CachedKindName): ResourceKind {
    const kind = this.cache.kind(name);
    if (!kind) throw new NotFoundError(`cluster ${this.clusterName} serves no ${name}`);
    return kind;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw translateKubeError(err, `${what} in cluster ${this.clusterName}`);
    }
  }

  /** The object as the cache holds it after the write, or the write's answer if the wait timed out. */
  private async settled<T extends KubeObject>(name: CachedKindName, written: T): Promise<T> {
    const { namespace, name: objectName, resourceVersion } = written.metadata;
    await this.cache.waitForObject(name, namespace, objectName, resourceVersion, this.cacheWaitMs);
    return (this.cache.informer<T>(name)?.store.get(namespace, objectName) as T | undefined) ?? written;
  }

  async create<T extends KubeObject>(name: CachedKindName, object: T): Promise<T> {
    const kind = this.kindOf(name);
    const namespace = object.metadata.namespace;
    const created = await this.call(`create ${kind.kind} ${object.metadata.name}`, () =>
      this.http.request<T>('POST', collectionPath(kind, namespace), { body: { apiVersion: apiVersionOf(kind), kind: kind.kind, ...object } }),
    );
    return this.settled(name, created);
  }

  async replace<T extends KubeObject>(name: CachedKindName, object: T): Promise<T> {
    const kind = this.kindOf(name);
    const { namespace, name: objectName } = object.metadata;
    const replaced = await this.call(`update ${kind.kind} ${objectName}`, () =>
      this.http.request<T>('PUT', objectPath(kind, namespace, objectName), { body: object }),
    );
    return this.settled(name, replaced);
  }

  /** JSON merge patch (RFC 7386). */
  async mergePatch<T extends KubeObject>(name: CachedKindName, namespace: string | undefined, objectName: string, patch: unknown): Promise<T> {
    const kind = this.kindOf(name);
    const patched = await this.call(`patch ${kind.kind} ${objectName}`, () =>
      this.http.request<T>('PATCH', objectPath(kind, namespace, objectName), { body: patch, contentType: 'application/merge-patch+json' }),
    );
    return this.settled(name, patched);
  }

  /** JSON merge patch of the status subresource (kinds that have one, e.g. zcloud's CRDs). */
  async mergePatchStatus<T extends KubeObject>(name: CachedKindName, namespace: string | undefined, objectName: string, patch: unknown): Promise<T> {
    const kind = this.kindOf(name);
    const patched = await this.call(`patch the status of ${kind.kind} ${objectName}`, () =>
      this.http.request<T>('PATCH', `${objectPath(kind, namespace, objectName)}/status`, { body: patch, contentType: 'application/merge-patch+json' }),
    );
    return this.settled(name, patched);
  }

  /** Deletes and waits until the cache shows the object gone or terminating. */
  async delete(name: CachedKindName, namespace: string | undefined, objectName: string, options: DeleteOptions = {}): Promise<void> {
    const kind = this.kindOf(name);
    await this.call(`delete ${kind.kind} ${objectName}`, () =>
      this.http.request('DELETE', objectPath(kind, namespace, objectName), {
        body: options.propagationPolicy ? { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: options.propagationPolicy } : undefined,
      }),
    );
    await this.cache.waitForObject(name, namespace, objectName, undefined, this.cacheWaitMs);
  }

  /** A GET straight from the apiserver, for the rare reader that must not trust the cache. */
  async getLive<T extends KubeObject>(name: CachedKindName, namespace: string | undefined, objectName: string): Promise<T> {
    const kind = this.kindOf(name);
    return this.call(`get ${kind.kind} ${objectName}`, () => this.http.request<T>('GET', objectPath(kind, namespace, objectName)));
  }
}
