import { defineCollection, type Store, type StoreCollection } from '../store/store.js';
import { ProvisioningJournalSchema, stepId, type EtcdJoin, type ProvisioningJournal, type StepRef } from './step-plan.js';

export const provisioningJournalCollection = defineCollection('provisioningjournals', ProvisioningJournalSchema);

/** The durable step journal of provisioned clusters: each change is written before it is acted on. */
export class ProvisioningJournalStore {
  readonly #records: StoreCollection<ProvisioningJournal>;

  constructor(store: Store) {
    this.#records = store.collection(provisioningJournalCollection);
  }

  get(cluster: string): Promise<ProvisioningJournal | undefined> {
    return this.#records.get(cluster);
  }

  /** The journal to continue: the stored one, or a first generation. */
  async current(cluster: string): Promise<ProvisioningJournal> {
    return (await this.#records.get(cluster)) ?? this.#records.put(cluster, { cluster, generation: 1, hostKeys: {}, steps: {}, etcdJoins: {}, etcdFormed: false });
  }

  /** Starts a new run from the first step, keeping the pinned host keys. */
  async newGeneration(cluster: string): Promise<ProvisioningJournal> {
    const journal = await this.current(cluster);
    return this.#records.put(cluster, { ...journal, generation: journal.generation + 1, steps: {} });
  }

  async stepStarted(cluster: string, step: StepRef, now = new Date()): Promise<void> {
    await this.#records.update(cluster, (j) => {
      const previous = j.steps[stepId(step)];
      return { ...j, steps: { ...j.steps, [stepId(step)]: { state: 'running', attempts: (previous?.attempts ?? 0) + 1, startedAt: now.toISOString() } } };
    });
  }

  async stepFinished(cluster: string, step: StepRef, error?: string, now = new Date()): Promise<void> {
    await this.#records.update(cluster, (j) => {
      const started = j.steps[stepId(step)]!;
      const finished = { ...started, state: error === undefined ? ('done' as const) : ('failed' as const), finishedAt: now.toISOString(), ...(error !== undefined ? { lastError: error } : {}) };
      return { ...j, steps: { ...j.steps, [stepId(step)]: finished } };
    });
  }

  async pinHostKey(cluster: string, host: string, fingerprint: string): Promise<void> {
    await this.#records.update(cluster, (j) => ({ ...j, hostKeys: { ...j.hostKeys, [host]: fingerprint } }));
  }

  /** Forgets a removed node's host key: the address may later hold another host. */
  async unpinHostKey(cluster: string, host: string): Promise<void> {
    await this.#records.update(cluster, (j) => ({ ...j, hostKeys: Object.fromEntries(Object.entries(j.hostKeys).filter(([name]) => name !== host)) }));
  }

  /** Records how the etcd member on `host` starts, before it first does. */
  async recordEtcdJoin(cluster: string, host: string, join: EtcdJoin): Promise<void> {
    await this.#records.update(cluster, (j) => ({ ...j, etcdJoins: { ...j.etcdJoins, [host]: join } }));
  }

  async etcdFormed(cluster: string): Promise<void> {
    await this.#records.update(cluster, (j) => ({ ...j, etcdFormed: true }));
  }

  /** Forgets a removed member's join: added again later, it is a new member. */
  async forgetEtcdJoin(cluster: string, host: string): Promise<void> {
    await this.#records.update(cluster, (j) => ({ ...j, etcdJoins: Object.fromEntries(Object.entries(j.etcdJoins).filter(([name]) => name !== host)) }));
  }

  async remove(cluster: string): Promise<void> {
    await this.#records.delete(cluster);
  }
}
