import type Docker from 'dockerode';
import type { ProvisionedClusterSpec, ProvisionedNode } from '../clusters/provisioning-spec.js';
import type { DockerCallOptions } from './containers.js';
import { connectHost } from './host-connection.js';
import type { ProvisioningJournalStore } from './journal-store.js';

export interface HostSessionOptions {
  journal: ProvisioningJournalStore;
  /** Bound of the connection and of each remote call. */
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * Runs `work` against the Docker of `node` of provisioned cluster `cluster`, over SSH with the
 * host key the provisioning run pinned (a host never reached has none: refused), and closes the
 * session whatever happens. How every job after provisioning reaches a host.
 */
export async function onProvisionedHost<T>(
  cluster: string,
  spec: ProvisionedClusterSpec,
  node: ProvisionedNode,
  options: HostSessionOptions,
  work: (docker: Docker, call: DockerCallOptions) => Promise<T>,
): Promise<T> {
  const { timeoutMs, signal } = options;
  const pinned = (await options.journal.get(cluster))?.hostKeys[node.name];
  if (pinned === undefined) throw new Error(`${node.name}: no pinned host key; the host was never reached`);
  const connection = await connectHost(
    { name: node.name, address: node.address, port: spec.sshPort, user: spec.sshUser, privateKey: spec.sshKey, pinnedHostKey: pinned },
    { dockerSocket: spec.dockerSocket, timeoutMs, signal },
  );
  try {
    return await work(connection.docker, { cluster, host: node.name, timeoutMs, signal });
  } finally {
    await connection.close();
  }
}
