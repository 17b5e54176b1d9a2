import type { ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';
import { removeClusterFromHost } from './containers.js';
import { connectHost } from './host-connection.js';
import { imageReference } from './images.js';
import type { ProvisioningJournalStore } from './journal-store.js';
import { HOST_SSL_DIR } from './node-plan.js';
import type { ClusterPkiStore } from './pki-store.js';
import type { ProvisioningLog } from './provisioning-log.js';

export interface DeprovisionOptions {
  cluster: string;
  spec: ProvisionedClusterSpec;
  journal: ProvisioningJournalStore;
  pki: ClusterPkiStore;
  log: ProvisioningLog;
  signal?: AbortSignal;
  callTimeoutMs?: number;
}

/**
 * Takes back what zcloud put on a provisioned cluster's hosts (its labelled containers and its
 * files), host by host with the pinned host keys, then forgets its PKI and journal. A host that
 * cannot be reached stops it with a HostError naming that host, and nothing is forgotten, so
 * the delete can be repeated once the host is back.
 */
export async function deprovisionCluster(options: DeprovisionOptions): Promise<void> {
  const { cluster, spec, journal, log } = options;
  const timeoutMs = options.callTimeoutMs ?? 30_000;
  const pinned = (await journal.get(cluster))?.hostKeys ?? {};
  for (const node of spec.nodes) {
    // Files and containers come only after the connect step pinned the host's key: a host without
    // one was never reached (a refused key, an unreachable address) and holds nothing of zcloud's.
    if (pinned[node.name] === undefined) {
      log.append(cluster, `[delete] ${node.name}: never reached, nothing to remove`);
      continue;
    }
    const connection = await connectHost(
      { name: node.name, address: node.address, port: spec.sshPort, user: spec.sshUser, privateKey: spec.sshKey, pinnedHostKey: pinned[node.name] },
      { dockerSocket: spec.dockerSocket, timeoutMs, signal: options.signal },
    );
    try {
      const removed = await removeClusterFromHost(connection.docker, imageReference('base'), HOST_SSL_DIR, { cluster, host: node.name, timeoutMs, signal: options.signal });
      log.append(cluster, `[delete] ${node.name}: removed ${removed.length ? removed.join(', ') : 'no containers'} and ${HOST_SSL_DIR}`);
    } finally {
      await connection.close();
    }
  }
  await options.pki.remove(cluster);
  await journal.remove(cluster);
  // A cluster created later under the same name starts with an empty log.
  log.forget(cluster);
}
