import type { ClusterManager } from '../src/clusters/cluster-manager.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import type { ResourceStatus } from '../src/status/resource-status.js';

export interface ClusterStatusOptions {
  clusters: ClusterManager;
  status: ResourceStatus;
  /** How often a cluster's state is looked at again (its health changes without an event). */
  resyncMs: number;
}

/**
 * Reports each registered cluster's state, version and node count on its clusters.zcloud.cn
 * object (`kubectl get clusters.zcloud.cn`). Key: cluster name. Runs on the leader only, so
 * one replica's view is shown, not a mix.
 */
export class ClusterStatusReconciler implements Reconciler {
  constructor(private readonly options: ClusterStatusOptions) {}

  async reconcile(name: string): Promise<Result> {
    const runtime = this.options.clusters.get(name);
    if (!runtime || runtime.deleting) return {};
    await this.options.status.cluster(name, {
      state: runtime.state,
      version: runtime.health.version ?? '',
      nodes: runtime.cache.informer('nodes')?.store.size ?? 0,
    });
    return { requeueAfterMs: this.options.resyncMs };
  }
}

export function clusterStatusController(options: ClusterStatusOptions): ControllerDefinition {
  return {
    name: 'cluster-status',
    reconciler: new ClusterStatusReconciler(options),
    watch: (on) => {
      on.clusters((event, name) => (event === 'attached' ? name : undefined));
      on.objects('nodes', (cluster) => cluster);
      on.initial(async () => {
        await options.clusters.loaded;
        return options.clusters.list().map((runtime) => runtime.name);
      });
    },
  };
}
