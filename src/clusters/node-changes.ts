import type { ProvisionedClusterSpec, ProvisionedNode } from './provisioning-spec.js';

/**
 * What a PUT may change on a running provisioned cluster, decided from the spec it runs and the
 * one asked for (pure). Nodes are matched by name: a node of both lists must keep its address
 * and roles; workers, edge and etcd nodes may come and go (one etcd node always stays: the
 * spec's own rules; an added etcd node joins as a new member, see etcd-membership.ts). The rest of the spec is fixed at create
 * (CIDRs, DNS, network, version: changing them would rebuild the cluster), except the SSH
 * credentials, which an operator rotates.
 */

export interface NodeChangeIssue {
  path: (string | number)[];
  message: string;
}

export interface NodeChanges {
  added: ProvisionedNode[];
  removed: ProvisionedNode[];
  issues: NodeChangeIssue[];
}

/** Fields a PUT may set to another value than the running spec's. */
const changeableFields = new Set<keyof ProvisionedClusterSpec>(['nodes', 'sshUser', 'sshPort', 'sshKey']);

const sortedRoles = (node: ProvisionedNode) => [...node.roles].sort().join(',');

export function nodeChanges(running: ProvisionedClusterSpec, wanted: ProvisionedClusterSpec): NodeChanges {
  const issues: NodeChangeIssue[] = [];
  const runningByName = new Map(running.nodes.map((n) => [n.name, n]));
  const wantedNames = new Set(wanted.nodes.map((n) => n.name));
  const added: ProvisionedNode[] = [];
  // Removals first: a body that swaps a controlplane node is told about the one it drops.
  const removed = running.nodes.filter((n) => !wantedNames.has(n.name));
  for (const node of removed) {
    if (node.roles.includes('controlplane')) issues.push({ path: ['nodes'], message: `controlplane node ${node.name} cannot be removed` });
  }
  wanted.nodes.forEach((node, i) => {
    const before = runningByName.get(node.name);
    if (!before) {
      const sameAddress = running.nodes.find((n) => n.address === node.address && wantedNames.has(n.name) === false);
      if (sameAddress) issues.push({ path: ['nodes', i, 'name'], message: `${node.address} is node ${sameAddress.name}: a node cannot be renamed; remove it in one update and add it in another` });
      else if (node.roles.includes('controlplane')) issues.push({ path: ['nodes', i, 'roles'], message: 'a controlplane node cannot be added to a running cluster' });
      else added.push(node);
      return;
    }
    if (before.address !== node.address) issues.push({ path: ['nodes', i, 'address'], message: `node ${node.name} has address ${before.address}; a node cannot change its address` });
    if (sortedRoles(before) !== sortedRoles(node)) issues.push({ path: ['nodes', i, 'roles'], message: `node ${node.name} has roles ${before.roles.join(',')}; a node cannot change its roles` });
  });
  for (const field of Object.keys(wanted) as (keyof ProvisionedClusterSpec)[]) {
    if (changeableFields.has(field)) continue;
    if (JSON.stringify(wanted[field]) !== JSON.stringify(running[field])) issues.push({ path: [field], message: `is ${JSON.stringify(running[field])} and cannot change on a running cluster` });
  }
  return { added, removed: issues.length ? [] : removed, issues };
}
