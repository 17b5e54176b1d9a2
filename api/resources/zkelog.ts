import { NotFoundError } from '../../src/errors.js';
import { defineResource } from '../framework/resource.js';

/**
 * `GET /clusters/{name}/zkelog`: the provisioning log of a cluster as text lines, oldest first
 * (src/provisioning/provisioning-log.ts, also after a restart). Admin only. Readable in every
 * phase, Creating and CreateFailed above all, which is why the cluster's 503 guard is skipped.
 * An imported cluster has no provisioning: its log is empty. An unknown cluster is 404.
 */
export const zkelogResource = defineResource({
  kind: 'zkelog',
  collectionName: 'zkelog',
  parents: ['cluster'],
  servedWhileParentUnavailable: true,
  text: async (ctx) => {
    const name = ctx.parents.cluster!;
    const { clusters, provisioningLog } = ctx.services;
    const runtime = clusters.get(name);
    if (!runtime && !clusters.provisioningRecord(name)) throw new NotFoundError(`cluster ${name} not found`);
    if (runtime && runtime.record.source.kind !== 'ssh') return [];
    return provisioningLog.lines(name);
  },
});
