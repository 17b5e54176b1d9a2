import type { ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';
import { defineCollection, type Store, type StoreCollection } from '../store/store.js';
import { completeClusterPki, openPki, sealPki, StoredClusterPkiSchema, type ClusterPki, type StoredClusterPki } from './pki.js';
import { SecretBox } from '../store/secret-box.js';

const registryContext = (cluster: string, url: string) => `registry/${cluster}/${url}`;

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

  /** The cluster's PKI complete for `spec`, written (durably) first if anything was issued. `now` starts new certificates' validity. */
  async ensure(cluster: string, spec: ProvisionedClusterSpec, now = new Date()): Promise<ClusterPki> {
    const { pki, changed } = await completeClusterPki(spec, await this.get(cluster), now);
    if (changed) await this.#records.put(cluster, sealPki(cluster, pki, this.box));
    return pki;
  }

  /**
   * Issues again (same CA, new key and serial) every leaf certificate of the cluster that
   * expires before `before`, and stores them; returns their ids (none: nothing written). The
   * hosts get the new files from the next run of the cluster.
   */
  async renewExpiring(cluster: string, spec: ProvisionedClusterSpec, before: Date): Promise<string[]> {
    const existing = await this.get(cluster);
    if (!existing) return [];
    const { pki, renewed } = await completeClusterPki(spec, existing, new Date(), before);
    if (renewed.length > 0) await this.#records.put(cluster, sealPki(cluster, pki, this.box));
    return renewed;
  }

  /**
   * `spec` with every private registry's password sealed (bound to cluster and registry URL),
   * as the cluster record stores it; already sealed ones are left alone. A registry sent
   * without a password (GET shows only `hasPassword`, so a client echoing it sends none) keeps
   * the one `previous` had for the same URL and user. The box of the PKI keys seals them: one
   * key in the data dir for every secret of provisioned clusters.
   */
  sealRegistryPasswords(cluster: string, spec: ProvisionedClusterSpec, previous?: ProvisionedClusterSpec): ProvisionedClusterSpec {
    const privateRegistries = spec.privateRegistries.map((r) => {
      if (r.password === '') {
        const kept = previous?.privateRegistries.find((p) => p.url === r.url && p.user === r.user)?.password;
        return kept ? { ...r, password: kept } : r;
      }
      return SecretBox.isSealed(r.password) ? r : { ...r, password: this.box.seal(r.password, registryContext(cluster, r.url)) };
    });
    return { ...spec, privateRegistries };
  }

  /** The clear password of a registry of a stored spec (empty when it has none). */
  registryPassword(cluster: string, registry: { url: string; password: string }): string {
    if (registry.password === '' || !SecretBox.isSealed(registry.password)) return registry.password;
    return this.box.open(registry.password, registryContext(cluster, registry.url));
  }

  async remove(cluster: string): Promise<void> {
    await this.#records.delete(cluster);
  }
}
