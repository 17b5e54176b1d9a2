import type { ClusterManager } from '../src/clusters/cluster-manager.js';
import type { ControllerDefinition, Keys, Reconciler, Result } from '../src/controller.js';
import type { ConfigMapObject, SecretObject, WorkloadObject } from '../src/kube/objects.js';
import type { Logger } from '../src/logger.js';
import { advancedOptionsOf, configHash, CONFIG_HASH_ANNOTATION } from '../src/workloads/options.js';
import { referencedSources } from '../src/workloads/pod-template.js';

/** The kinds whose pods reloadWhenConfigChange rolls. */
export const RELOADING_KINDS = ['deployments', 'statefulsets', 'daemonsets'] as const;
export type ReloadingKind = (typeof RELOADING_KINDS)[number];

/** Retry period while a cluster's cache cannot be trusted (unreachable, resyncing). */
const UNAVAILABLE_RETRY_MS = 5_000;

export interface WorkloadRef {
  cluster: string;
  kind: ReloadingKind;
  namespace: string;
  name: string;
}

/** `<cluster>/<kind>/<namespace>/<name>`: none of the parts can hold a "/". */
export function workloadKey(ref: WorkloadRef): string {
  return `${ref.cluster}/${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function parseWorkloadKey(key: string): WorkloadRef | undefined {
  const [cluster, kind, namespace, name, ...rest] = key.split('/');
  if (rest.length > 0 || !name || !(RELOADING_KINDS as readonly string[]).includes(kind)) return undefined;
  return { cluster, kind: kind as ReloadingKind, namespace, name };
}

export interface ConfigReloadOptions {
  clusters: ClusterManager;
  logger: Logger;
}

/**
 * Keeps the config-hash annotation of the pod template of every workload with
 * reloadWhenConfigChange equal to the hash of the configmaps and secrets it mounts. When it
 * differs (a config changed), one merge patch of the annotation makes the workload's own
 * controller roll the pods. Level-based: it reads the workload and its configs from the cache
 * and never looks at what event brought the key. Key: see workloadKey.
 */
export class ConfigReloadReconciler implements Reconciler {
  constructor(private readonly options: ConfigReloadOptions) {}

  async reconcile(key: string): Promise<Result> {
    const ref = parseWorkloadKey(key);
    const runtime = ref && this.options.clusters.get(ref.cluster);
    if (!ref || !runtime || runtime.deleting) return {};
    if (!runtime.available) return { requeueAfterMs: UNAVAILABLE_RETRY_MS };
    const workload = runtime.cache.informer<WorkloadObject>(ref.kind)?.store.get(ref.namespace, ref.name);
    if (!workload || workload.metadata.deletionTimestamp || !advancedOptionsOf(workload).reloadWhenConfigChange) return {};
    const template = workload.spec?.template;
    const hash = configHash(template, (type, name) =>
      runtime.cache.informer<ConfigMapObject | SecretObject>(type === 'configmap' ? 'configmaps' : 'secrets')?.store.get(ref.namespace, name),
    );
    if (template?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] === hash) return {};
    await runtime.client.mergePatch(ref.kind, ref.namespace, ref.name, { spec: { template: { metadata: { annotations: { [CONFIG_HASH_ANNOTATION]: hash } } } } });
    this.options.logger.info('config changed: rolling workload', { cluster: ref.cluster, kind: ref.kind, namespace: ref.namespace, name: ref.name });
    return {};
  }
}

/**
 * Rolls reloadWhenConfigChange workloads. Keys come from every cluster's informers: a reloading
 * workload that changes, and every reloading workload mounting a configmap or secret that
 * changes (found by scanning its namespace's workloads: handlers run on the watch path and this
 * stays cheap).
 */
export function configReloadController(options: ConfigReloadOptions): ControllerDefinition {
  const { clusters } = options;
  return {
    name: 'config-reload',
    reconciler: new ConfigReloadReconciler(options),
    workers: 2,
    watch: (on) => {
      for (const kind of RELOADING_KINDS) {
        on.objects(kind, (cluster, object) =>
          advancedOptionsOf(object).reloadWhenConfigChange
            ? workloadKey({ cluster, kind, namespace: object.metadata.namespace ?? '', name: object.metadata.name })
            : undefined,
        );
      }
      for (const source of ['configmaps', 'secrets'] as const) {
        on.objects(source, (cluster, object): Keys => {
          const namespace = object.metadata.namespace ?? '';
          const cache = clusters.get(cluster)?.cache;
          const keys: string[] = [];
          for (const kind of RELOADING_KINDS) {
            for (const workload of cache?.informer<WorkloadObject>(kind)?.store.listNamespace(namespace) ?? []) {
              if (!advancedOptionsOf(workload).reloadWhenConfigChange) continue;
              const mounted = referencedSources(workload.spec?.template);
              if (!(source === 'configmaps' ? mounted.configmaps : mounted.secrets).includes(object.metadata.name)) continue;
              keys.push(workloadKey({ cluster, kind, namespace, name: workload.metadata.name }));
            }
          }
          return keys;
        });
      }
    },
  };
}
