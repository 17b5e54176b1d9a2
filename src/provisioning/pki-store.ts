import type { ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';
import { defineCollection, type Store, type StoreCollection } from '../store/store.js';
import { completeClusterPki, openPki, sealPki, StoredClusterPkiSchema, type ClusterPki, type StoredClusterPki } from './pki.js';
import type { SecretBox } from '../store/secret-box.js';

/** One record per provisioned cluster, keyed by cluster name; private keys sealed. */
export const clusterPkiCollection = defineCollection('clusterpki', StoredClusterPkiSchema);

/**
 * The PKI of provisioned clusters, kept in the store. `ensure` is what a provisioning run calls
 * before it touches any host: the certificates are durable before a host holds one, so a run
 * killed at any point resumes with the same CA.
 */
export class ClusterPkiStore {
  readonly #records: StoreCollection<StoredClusterPki>;

  constructor(
    store: Store,
    private readonly box: SecretBox,
  ) {
    this.#records = store.collection(clusterPkiCollection);
  }

  async get(cluster: string): Promise<ClusterPki | undefined> {
    const stored = await this.#records.get(cluster);
    return stored && openPki(stored, this.box);
  }

  /** The cluster's PKI complete for `spec`, written (durably) first if anything was issued. */
  async ensure(cluster: string, spec: ProvisionedClusterSpec): Promise<ClusterPki> {
    const { pki, changed } = await completeClusterPki(spec, await this.get(cluster));
    if (changed) await this.#records.put(cluster, sealPki(cluster, pki, this.box));
    return pki;
  }

  async remove(cluster: string): Promise<void> {
    await this.#records.delete(cluster);
  }
}
