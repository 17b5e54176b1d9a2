import type Docker from 'dockerode';
import type { ProvisionedNode } from '../clusters/provisioning-spec.js';
import { runOnce, type DockerCallOptions } from './containers.js';
import { imageReference } from './images.js';
import { HOST_SSL_DIR } from './node-plan.js';

/** Where etcd hosts keep their snapshots (on the host, beside nothing else of zcloud's). */
export const ETCD_SNAPSHOT_DIR = '/opt/zcloud/etcd-snapshots';

export interface EtcdSnapshotResult {
  /** Path on the host of the snapshot just saved. */
  file: string;
  /** Snapshot files of the cluster left on the host, newest first. */
  kept: string[];
}

/** `<cluster>-20261126T012500123Z.db` (ISO time without separators): names sort by time, so retention needs no clock of the host. */
export function snapshotFileName(cluster: string, now: Date): string {
  return `${cluster}-${now.toISOString().replace(/[-:.]/g, '')}.db`;
}

/**
 * Saves a snapshot of the etcd member on `node` (`etcdctl snapshot save` in a one-shot container
 * of the etcd image, host network, with the member's own certificate, which etcd admits as a
 * client) under ETCD_SNAPSHOT_DIR, then removes the cluster's oldest snapshots beyond `retention`.
 */
export async function snapshotEtcd(docker: Docker, node: ProvisionedNode, retention: number, options: DockerCallOptions, now = new Date()): Promise<EtcdSnapshotResult> {
  const file = `${ETCD_SNAPSHOT_DIR}/${snapshotFileName(options.cluster, now)}`;
  const ssl = (name: string) => `${HOST_SSL_DIR}/${name}`;
  const script = [
    'set -e',
    // What a snapshot cut short (zcloud stopping) left behind.
    `rm -f ${ETCD_SNAPSHOT_DIR}/${options.cluster}-*.db.part`,
    `etcdctl --endpoints=https://127.0.0.1:2379 --cacert=${ssl('ca.crt')} --cert=${ssl(`etcd-${node.name}.crt`)} --key=${ssl(`etcd-${node.name}.key`)} snapshot save ${file} >/dev/null`,
    `ls -1 ${ETCD_SNAPSHOT_DIR} | grep -E '^${options.cluster}-[0-9TZ]+\\.db$' | sort -r | tail -n +${retention + 1} | sed 's|^|${ETCD_SNAPSHOT_DIR}/|' | xargs -r rm -f`,
    // Marked: etcdctl's own messages share the output.
    `ls -1 ${ETCD_SNAPSHOT_DIR} | grep -E '^${options.cluster}-[0-9TZ]+\\.db$' | sort -r | sed 's/^/kept /'`,
  ].join('\n');
  const output = await runOnce(docker, imageReference('etcd'), ['sh', '-c', script], options, { binds: [`${HOST_SSL_DIR}:${HOST_SSL_DIR}:ro`, `${ETCD_SNAPSHOT_DIR}:${ETCD_SNAPSHOT_DIR}`] });
  const kept = output
    .split(/\r?\n/)
    .flatMap((line) => (line.startsWith('kept ') ? [`${ETCD_SNAPSHOT_DIR}/${line.slice('kept '.length).trim()}`] : []));
  return { file, kept };
}
