import { randomBytes } from 'node:crypto';
import type { StorageClusterObject } from '../../src/storage/storagecluster-crd.js';
import { blockDeviceView, DISCOVERY_REQUESTED_ANNOTATION } from '../../src/storage/block-devices.js';
import { InputError, NotFoundError } from '../../src/errors.js';
import { clusterOf, readCache } from '../cluster-access.js';
import { defineResource } from '../framework/resource.js';

/**
 * `{nodeName, blockDevices: [{name, size, usedBy}]}` per worker node, from the node annotation
 * `storage.zcloud.cn/blockdevices` (docs/storage.md); usedBy names the storagecluster or is ''.
 */
export const blockdeviceResource = defineResource({
  kind: 'blockdevice',
  parents: ['cluster'],
  list: async (ctx) => {
    const nodes = readCache(ctx, 'nodes').store.list();
    const clusters = clusterOf(ctx).cache.informer<StorageClusterObject>('storageclusters')?.store.list() ?? [];
    return blockDeviceView(nodes, clusters).map((n) => ({ id: n.nodeName, ...n }));
  },
  actions: {
    /**
     * Discovers the devices of the cluster's hosts again now (provisioned clusters: zcloud reaches
     * them over SSH), rather than at the next scheduled scan. The request is an annotation on the
     * node, so the leading replica runs it whichever replica took the call. Answers at once; the
     * list shows the result when the node annotations change.
     */
    discover: {
      run: async (ctx, id) => {
        const runtime = clusterOf(ctx);
        if (!readCache(ctx, 'nodes').store.get(undefined, id)) throw new NotFoundError(`node ${id} not found`);
        if (runtime.record.source.kind !== 'ssh') {
          throw new InputError(`cluster ${runtime.name} was imported: its nodes report their devices in the annotation storage.zcloud.cn/blockdevices`);
        }
        const request = `${new Date().toISOString()}/${randomBytes(4).toString('hex')}`;
        await runtime.client.mergePatch('nodes', undefined, id, { metadata: { annotations: { [DISCOVERY_REQUESTED_ANNOTATION]: request } } });
        return { cluster: runtime.name, queued: true };
      },
    },
  },
});
