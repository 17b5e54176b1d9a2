import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { nodeChanges } from '../../src/clusters/node-changes.js';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../../src/clusters/provisioning-spec.js';

const sshKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'sec1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;

const cp = { name: 'cp', address: '10.209.1.2', roles: ['controlplane', 'etcd', 'worker'] };
const w1 = { name: 'w1', address: '10.209.1.3', roles: ['worker'] };
const w2 = { name: 'w2', address: '10.209.1.4', roles: ['worker', 'edge'] };

function spec(nodes: object[], extra: Record<string, unknown> = {}): ProvisionedClusterSpec {
  return ProvisionedClusterInputSchema.parse({ nodes, sshUser: 'zcloud', sshKey, ...extra }) as ProvisionedClusterSpec;
}

const issuesOf = (running: ProvisionedClusterSpec, wanted: ProvisionedClusterSpec) => nodeChanges(running, wanted).issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('node changes of a running provisioned cluster', () => {
  const running = spec([cp, w1]);

  it('adds workers and edge nodes and removes them', () => {
    const grown = nodeChanges(running, spec([cp, w1, w2]));
    expect(grown.issues).to.deep.equal([]);
    expect(grown.added.map((n) => n.name)).to.deep.equal(['w2']);
    expect(grown.removed).to.deep.equal([]);
    const shrunk = nodeChanges(spec([cp, w1, w2]), spec([cp, w2]));
    expect(shrunk.added).to.deep.equal([]);
    expect(shrunk.removed.map((n) => n.name)).to.deep.equal(['w1']);
  });

  it('sees nothing to do when the node list is the same, in any order, and lets the SSH credentials change', () => {
    const same = nodeChanges(running, spec([w1, cp], { sshUser: 'other', sshPort: 2222 }));
    expect(same).to.deep.equal({ added: [], removed: [], issues: [] });
  });

  it('refuses, naming the field: controlplane removal, role, address and name changes, new controlplane nodes, other spec fields', () => {
    expect(issuesOf(running, spec([{ ...cp, name: 'cp2', address: '10.209.1.9' }, w1]))).to.deep.equal([
      'nodes: controlplane node cp cannot be removed',
      'nodes.0.roles: a controlplane node cannot be added to a running cluster',
    ]);
    expect(issuesOf(running, spec([cp, { ...w1, roles: ['worker', 'edge'] }]))).to.deep.equal(['nodes.1.roles: node w1 has roles worker; a node cannot change its roles']);
    expect(issuesOf(running, spec([cp, { ...w1, address: '10.209.1.7' }]))).to.deep.equal(['nodes.1.address: node w1 has address 10.209.1.3; a node cannot change its address']);
    expect(issuesOf(running, spec([cp, { ...w1, name: 'renamed' }]))).to.deep.equal([
      'nodes.1.name: 10.209.1.3 is node w1: a node cannot be renamed; remove it in one update and add it in another',
    ]);
    expect(issuesOf(running, spec([cp, w1], { clusterCidr: '10.50.0.0/16' }))).to.deep.equal(['clusterCidr: is "10.42.0.0/16" and cannot change on a running cluster']);
  });

  it('removes an etcd node while another stays, adds one, and reports no removal when anything is refused', () => {
    const etcd2 = { name: 'e2', address: '10.209.1.5', roles: ['etcd', 'worker'] };
    expect(nodeChanges(spec([cp, w1, etcd2]), spec([cp, w1])).removed.map((n) => n.name)).to.deep.equal(['e2']);
    const addEtcd = nodeChanges(running, spec([cp, w1, { ...w2, roles: ['etcd', 'worker'] }]));
    expect(addEtcd.issues).to.deep.equal([]);
    expect(addEtcd.added.map((n) => n.name)).to.deep.equal([w2.name]);
    const mixed = nodeChanges(spec([cp, w1, w2]), spec([cp, w2, { name: 'cp9', address: '10.209.1.10', roles: ['controlplane'] }]));
    expect(mixed.removed).to.deep.equal([]);
  });
});
