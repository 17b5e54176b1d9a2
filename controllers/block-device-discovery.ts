import cron from 'node-cron';
import type { ClusterManager, ClusterRuntime } from '../src/clusters/cluster-manager.js';
import type { ProvisionedClusterSpec } from '../src/clusters/provisioning-spec.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import { formatBytes } from '../src/kube/quantity.js';
import type { Logger } from '../src/logger.js';
import { untilAborted, type Runnable } from '../src/manager.js';
import { onProvisionedHost } from '../src/provisioning/host-session.js';
import type { ProvisioningJournalStore } from '../src/provisioning/journal-store.js';
import { BLOCK_DEVICES_ANNOTATION, DISCOVERY_SERVED_ANNOTATION, pendingDiscoveryRequest } from '../src/storage/block-devices.js';
import { discoverBlockDevices } from '../src/storage/discovery.js';

export interface BlockDeviceDiscoveryOptions {
  clusters: ClusterManager;
  journal: ProvisioningJournalStore;
  logger: Logger;
  callTimeoutMs?: number;
}

/** How long a host whose node has not registered yet waits before the next look. */
const NODE_WAIT_MS = 10_000;

/**
 * A provisioned cluster past its creation, with the spec of its hosts: `runtime` once zcloud
 * serves it (attached, reachable, cache settled), else 'not-yet' (worth a later look).
 * Undefined for imported clusters and provisioned ones not Running or Updating.
 */
export function provisionedRuntime(clusters: ClusterManager, name: string): { runtime: ClusterRuntime; spec: ProvisionedClusterSpec } | 'not-yet' | undefined {
  const source = clusters.provisioned(name)?.source;
  if (!source || (source.phase !== 'Running' && source.phase !== 'Updating')) return undefined;
  const runtime = clusters.get(name);
  return runtime?.available ? { runtime, spec: source.spec } : 'not-yet';
}

/** How long work on a provisioned cluster not served yet waits before looking again. */
export const NOT_YET_MS = 5_000;

/**
 * Discovers the block devices of every host of a provisioned cluster over SSH (key = cluster
 * name) and writes them into each node's `storage.zcloud.cn/blockdevices` annotation, which the
 * blockdevices API reads from the cache like any node field. Runs when the cluster attaches, when
 * a node of it appears without the annotation (the kubelet just registered), when a node carries
 * a discovery request not served yet (the API's `discover` action, on any replica) and on the
 * scan schedule. A host that cannot be reached keeps its last
 * report; the reconcile fails (retried with backoff) naming it.
 */
export class BlockDeviceDiscoveryReconciler implements Reconciler {
  constructor(private readonly options: BlockDeviceDiscoveryOptions) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const target = provisionedRuntime(this.options.clusters, key);
    if (!target) return {};
    if (target === 'not-yet') return { requeueAfterMs: NOT_YET_MS };
    const { runtime, spec } = target;
    const nodes = runtime.cache.informer('nodes')?.store;
    const failures: string[] = [];
    let waiting = false;
    for (const node of spec.nodes) {
      const current = nodes?.get(undefined, node.name);
      if (!current) {
        waiting = true;
        continue;
      }
      try {
        const devices = await onProvisionedHost(key, spec, node, { journal: this.options.journal, timeoutMs: this.options.callTimeoutMs ?? 60_000, signal }, (docker, call) =>
          discoverBlockDevices(docker, call),
        );
        const annotation = JSON.stringify(devices.map((d) => ({ name: d.name, size: formatBytes(d.size), usable: d.usable, reason: d.reason })));
        // The request read before this scan is served by it; one made meanwhile stays pending.
        const request = pendingDiscoveryRequest(current);
        const changes = {
          ...(current.metadata.annotations?.[BLOCK_DEVICES_ANNOTATION] !== annotation ? { [BLOCK_DEVICES_ANNOTATION]: annotation } : {}),
          ...(request !== undefined ? { [DISCOVERY_SERVED_ANNOTATION]: request } : {}),
        };
        if (Object.keys(changes).length) await runtime.client.mergePatch('nodes', undefined, node.name, { metadata: { annotations: changes } });
      } catch (err) {
        if (signal.aborted) return {};
        failures.push((err as Error).message);
      }
    }
    if (failures.length) {
      this.options.logger.warn('block device discovery failed', { cluster: key, error: failures.join('; ') });
      throw new Error(`block device discovery in cluster ${key}: ${failures.join('; ')}`);
    }
    return waiting ? { requeueAfterMs: NODE_WAIT_MS } : {};
  }
}

export function blockDeviceDiscoveryController(options: BlockDeviceDiscoveryOptions): ControllerDefinition {
  const provisioned = (cluster: string): string | undefined => (options.clusters.provisioned(cluster) ? cluster : undefined);
  return {
    name: 'block-device-discovery',
    reconciler: new BlockDeviceDiscoveryReconciler(options),
    watch: (on) => {
      on.clusters((event, cluster) => (event === 'attached' ? provisioned(cluster) : undefined));
      // Only a node without a report or with a request: heartbeats must not cost an SSH round each.
      on.objects('nodes', (cluster, node) =>
        node.metadata.annotations?.[BLOCK_DEVICES_ANNOTATION] === undefined || pendingDiscoveryRequest(node) !== undefined ? provisioned(cluster) : undefined,
      );
      on.initial(async () => {
        await options.clusters.loaded;
        return options.clusters.list().flatMap((runtime) => provisioned(runtime.name) ?? []);
      });
    },
  };
}

/**
 * The discovery's schedule (node-cron): every provisioned cluster is enqueued in the discovery
 * controller at each time. A Runnable of the controllers phase; the schedule stops with it.
 */
export function blockDeviceScanSchedule(schedule: string, clusters: ClusterManager, enqueue: (cluster: string) => void, logger: Logger): Runnable {
  return {
    name: 'block-device-scan-schedule',
    async start(signal: AbortSignal): Promise<void> {
      const task = cron.schedule(
        schedule,
        () => {
          for (const runtime of clusters.list()) if (clusters.provisioned(runtime.name)) enqueue(runtime.name);
        },
        { name: 'block-device-scan', noOverlap: true, logger: { info: () => undefined, debug: () => undefined, warn: (m: string) => logger.warn(m, { part: 'node-cron' }), error: (m: string | Error) => logger.error(String(m), { part: 'node-cron' }) } },
      );
      await untilAborted(signal);
      await task.destroy();
    },
  };
}
