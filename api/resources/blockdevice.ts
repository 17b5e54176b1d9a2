import type { StorageClusterObject } from '../../src/storage/storagecluster-crd.js';
import { blockDeviceView } from '../../src/storage/block-devices.js';
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
});
