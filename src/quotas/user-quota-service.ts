import type { ClusterManager } from '../clusters/cluster-manager.js';
import { ClusterUnavailableError, ConflictError, ForbiddenError, InputError, NotFoundError } from '../errors.js';
import type { Store, StoreCollection } from '../store/store.js';
import type { UserService } from '../users.js';
import { SYSTEM_NAMESPACES, userQuotasCollection, type QuotaFigures, type UserQuotaRecord } from './user-quota.js';

export interface QuotaRequestInput extends QuotaFigures {
  namespace: string;
  purpose: string;
  requestor?: string;
  telephone?: string;
}

/**
 * The request workflow: create → processing; approval (admin, picks the cluster) or reject
 * (admin, with a reason); update (owner) → processing again; delete (owner or admin). It only
 * records decisions: `changed(id)` hands every change to the reconciler, which acts on clusters.
 */
export class UserQuotaService {
  readonly #records: StoreCollection<UserQuotaRecord>;

  constructor(
    store: Store,
    private readonly clusters: ClusterManager,
    private readonly users: UserService,
    private readonly changed: (id: string) => void,
  ) {
    this.#records = store.collection(userQuotasCollection);
  }

  list(): Promise<UserQuotaRecord[]> {
    return this.#records.list();
  }

  get(id: string): Promise<UserQuotaRecord | undefined> {
    return this.#records.get(id);
  }

  async require(id: string): Promise<UserQuotaRecord> {
    const record = await this.#records.get(id);
    if (!record) throw new NotFoundError(`userquota ${id} not found`);
    return record;
  }

  /** The namespace must be free: not a system one, not requested, not granted to another user. */
  private async checkNamespaceFree(namespace: string, userName: string): Promise<void> {
    if (SYSTEM_NAMESPACES.has(namespace)) throw new ConflictError(`namespace ${namespace} belongs to the cluster itself`);
    // Requests are keyed by their namespace (see create), so one lookup answers.
    if (await this.#records.get(namespace)) throw new ConflictError(`namespace ${namespace} is already requested`);
    for (const user of await this.users.list()) {
      if (user.name !== userName && user.projects.some((p) => p.namespace === namespace)) {
        throw new ConflictError(`namespace ${namespace} is owned by another user`);
      }
    }
  }

  async create(userName: string, input: QuotaRequestInput): Promise<UserQuotaRecord> {
    await this.checkNamespaceFree(input.namespace, userName);
    // One request per namespace, so the namespace names it: a stable, readable id.
    const record = await this.#records.create(input.namespace, {
      id: input.namespace,
      namespace: input.namespace,
      userName,
      purpose: input.purpose,
      ...(input.requestor !== undefined ? { requestor: input.requestor } : {}),
      ...(input.telephone !== undefined ? { telephone: input.telephone } : {}),
      requested: { cpu: input.cpu, memory: input.memory, storage: input.storage },
      status: 'processing',
      requestType: 'create',
      creationTimestamp: new Date().toISOString(),
      deleting: false,
      applied: false,
      message: 'waiting for approval',
    });
    this.changed(record.id);
    return record;
  }

  async update(userName: string, id: string, input: QuotaRequestInput & { clusterName?: string }): Promise<UserQuotaRecord> {
    const current = await this.require(id);
    if (current.userName !== userName) throw new ForbiddenError('only the requester may change a quota request');
    if (current.deleting) throw new ConflictError(`userquota ${id} is being deleted`);
    if (current.status === 'processing') throw new ConflictError(`userquota ${id} is still waiting for a decision`);
    if (input.namespace !== current.namespace) throw new InputError(`must stay ${current.namespace}`, 'namespace');
    if (input.clusterName !== undefined && current.approved && input.clusterName !== current.approved.clusterName) {
      throw new InputError(`must stay ${current.approved.clusterName}: a granted namespace does not move between clusters`, 'clusterName');
    }
    const record = await this.#records.update(id, (r) => ({
      ...r,
      purpose: input.purpose,
      requestor: input.requestor ?? r.requestor,
      telephone: input.telephone ?? r.telephone,
      requested: { cpu: input.cpu, memory: input.memory, storage: input.storage },
      status: 'processing',
      requestType: 'update',
      rejectionReason: undefined,
      responseTimestamp: undefined,
    }));
    this.changed(id);
    return record;
  }

  async approve(id: string, clusterName: string): Promise<UserQuotaRecord> {
    const current = await this.require(id);
    if (current.deleting) throw new ConflictError(`userquota ${id} is being deleted`);
    if (current.status !== 'processing') throw new ConflictError(`userquota ${id} has no pending request (status ${current.status})`);
    const runtime = this.clusters.get(clusterName);
    if (!runtime) throw new InputError(`cluster ${clusterName} does not exist`, 'clusterName');
    // Refused only when zcloud knows the cluster is away; one still (re)connecting gets the
    // decision recorded and the reconciler applies it once the cluster answers.
    if (runtime.state === 'Unreachable' || runtime.state === 'Deleting') {
      throw new ClusterUnavailableError(`cluster ${clusterName} is ${runtime.state.toLowerCase()}`);
    }
    if (current.approved && current.approved.clusterName !== clusterName) {
      throw new InputError(`must be ${current.approved.clusterName}, where the namespace was granted`, 'clusterName');
    }
    const record = await this.#records.update(id, (r) => ({
      ...r,
      status: 'approval',
      responseTimestamp: new Date().toISOString(),
      approved: { clusterName, ...r.requested },
      applied: false,
      message: `applying to cluster ${clusterName}`,
    }));
    this.changed(id);
    return record;
  }

  async reject(id: string, reason: string): Promise<UserQuotaRecord> {
    const current = await this.require(id);
    if (current.status !== 'processing') throw new ConflictError(`userquota ${id} has no pending request (status ${current.status})`);
    const record = await this.#records.update(id, (r) => ({
      ...r,
      status: 'rejection',
      rejectionReason: reason,
      responseTimestamp: new Date().toISOString(),
    }));
    this.changed(id);
    return record;
  }

  /** Marks the request for deletion; the reconciler revokes, cleans up and then forgets it. */
  async delete(id: string): Promise<void> {
    await this.require(id);
    await this.#records.update(id, (r) => ({ ...r, deleting: true, applied: false, message: 'deleting' }));
    this.changed(id);
  }
}
