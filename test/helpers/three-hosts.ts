import type { HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';

/**
 * The 3-host cluster on a host set of (at least) three: controlplane+etcd, worker,
 * worker+edge, as the create body's `nodes`, with the set's login.
 */
export function threeHostCluster(set: HostSetInfo): { nodes: { name: string; address: string; roles: string[] }[]; sshUser: string; sshKey: string } {
  const roles = [['controlplane', 'etcd'], ['worker'], ['worker', 'edge']];
  if (set.hosts.nodes.length < roles.length) throw new Error(`host set ${set.name} has ${set.hosts.nodes.length} hosts; 3 needed`);
  return {
    nodes: roles.map((r, i) => ({ name: set.hosts.nodes[i]!.name, address: set.hosts.nodes[i]!.address, roles: r })),
    sshUser: set.hosts.sshUser,
    sshKey: set.hosts.sshKey,
  };
}
