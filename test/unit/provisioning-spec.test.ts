import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import {
  kubernetesServiceIp,
  ProvisionedClusterInputSchema,
  publicSpecView,
  type ProvisionedClusterSpec,
} from '../../src/clusters/provisioning-spec.js';
import { parseInput } from '../../api/framework/http-errors.js';
import { InputError } from '../../src/errors.js';
import { ClusterRecordSchema } from '../../src/clusters/cluster-manager.js';

const sshKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey;

const minimal = {
  nodes: [{ name: 'n1', address: '10.209.1.2', roles: ['controlplane', 'etcd', 'worker'] }],
  sshUser: 'zcloud',
  sshKey,
};

function parse(body: Record<string, unknown>): ProvisionedClusterSpec {
  return parseInput(ProvisionedClusterInputSchema, body);
}

/** The `field: reason` a 422 would carry. */
function rejection(body: Record<string, unknown>): string {
  try {
    parse(body);
  } catch (err) {
    if (err instanceof InputError) return `${err.field}: ${err.message}`;
    throw err;
  }
  throw new Error('accepted');
}

describe('provisioned cluster spec', () => {
  it('fills ZKE defaults', () => {
    const spec = parse(minimal);
    expect(spec).to.deep.include({
      sshPort: 22,
      dockerSocket: '/var/run/docker.sock',
      clusterCidr: '10.42.0.0/16',
      serviceCidr: '10.43.0.0/16',
      clusterDNSServiceIP: '10.43.0.10',
      clusterDomain: 'cluster.local',
      kubernetesVersion: 'v1.20.2',
      ignoreDockerVersion: false,
      disablePortCheck: false,
    });
    expect(spec.network).to.deep.equal({ plugin: 'flannel', iface: '' });
    expect(kubernetesServiceIp(spec)).to.equal('10.43.0.1');
  });

  it('accepts the aliases singleCloudAddress and kubernetsVersion, and sshPort as the seed string', () => {
    const spec = parse({ ...minimal, singleCloudAddress: '10.0.0.1:80', kubernetsVersion: 'v1.20.2', sshPort: '2222' });
    expect(spec.singlecloudAddress).to.equal('10.0.0.1:80');
    expect(spec.kubernetesVersion).to.equal('v1.20.2');
    expect(spec.sshPort).to.equal(2222);
    expect(rejection({ ...minimal, kubernetsVersion: 'v1.30.0' })).to.match(/^kubernetesVersion: only v1\.20\.2/);
  });

  it('names the field of each bad input', () => {
    const node = minimal.nodes[0]!;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...minimal, nodes: [] }, /^nodes: must list at least one node/],
      [{ ...minimal, nodes: [{ ...node, name: 'Bad_Name' }] }, /^nodes\.0\.name: must be a DNS-1123 name/],
      [{ ...minimal, nodes: [{ ...node, address: '10.1.1' }] }, /^nodes\.0\.address: must be an IPv4 address/],
      [{ ...minimal, nodes: [{ ...node, roles: ['master'] }] }, /^nodes\.0\.roles\.0: /],
      [{ ...minimal, nodes: [{ ...node, roles: [] }] }, /^nodes\.0\.roles: must name at least one role/],
      [{ ...minimal, nodes: [node, { ...node, address: '10.209.1.3' }] }, /^nodes\.1\.name: duplicates the name of nodes\.0/],
      [{ ...minimal, nodes: [node, { ...node, name: 'n2' }] }, /^nodes\.1\.address: duplicates the address of nodes\.0/],
      [{ ...minimal, nodes: [{ ...node, roles: ['controlplane', 'worker'] }] }, /^nodes: must hold at least one etcd node/],
      [{ ...minimal, nodes: [{ ...node, roles: ['etcd', 'worker'] }] }, /^nodes: must hold at least one controlplane node/],
      [{ ...minimal, nodes: [{ ...node, roles: ['etcd', 'controlplane'] }] }, /^nodes: must hold at least one worker node/],
      [{ ...minimal, sshUser: undefined }, /^sshUser: is required/],
      [{ ...minimal, sshKey: 'not a key' }, /^sshKey: is not an unencrypted OpenSSH\/PEM private key/],
      [{ ...minimal, sshPort: 70000 }, /^sshPort: must be 1-65535/],
      [{ ...minimal, sshPort: 'ssh' }, /^sshPort: must be a port number/],
      [{ ...minimal, clusterCidr: '10.42.0.0' }, /^clusterCidr: must be an IPv4 CIDR/],
      [{ ...minimal, serviceCidr: '10.42.128.0/20' }, /^serviceCidr: overlaps clusterCidr 10\.42\.0\.0\/16/],
      [{ ...minimal, clusterDNSServiceIP: '10.44.0.10' }, /^clusterDNSServiceIP: must lie inside serviceCidr 10\.43\.0\.0\/16/],
      [{ ...minimal, clusterDNSServiceIP: '10.43.0.1' }, /^clusterDNSServiceIP: must not be the first service IP/],
      [{ ...minimal, clusterUpstreamDNS: ['dns.example'] }, /^clusterUpstreamDNS\.0: must be an IPv4 address/],
      [{ ...minimal, network: { plugin: 'weave' } }, /^network\.plugin: /],
      [{ ...minimal, network: { plugin: 'calico' } }, /^network\.plugin: calico is not supported yet; use flannel$/],
      [{ ...minimal, dockerSocket: 'docker.sock' }, /^dockerSocket: must be an absolute path/],
      [{ ...minimal, privateRegistries: [{ url: '' }] }, /^privateRegistries\.0\.url: must not be empty/],
    ];
    for (const [body, expected] of cases) expect(rejection(body)).to.match(expected);
  });

  it('never shows the SSH key or a registry password', () => {
    const spec = parse({ ...minimal, privateRegistries: [{ url: 'registry.local:5000', user: 'u', password: 'registry-secret' }] });
    const shown = JSON.stringify(publicSpecView(spec));
    expect(shown).not.to.include('PRIVATE KEY');
    expect(shown).not.to.include('registry-secret');
    expect(publicSpecView(spec)).to.deep.include({ sshUser: 'zcloud', sshPort: '22', kubernetesVersion: 'v1.20.2' });
  });

  it('keeps reading cluster records of older data files (imported only) beside provisioned ones', () => {
    const imported = { name: 'old', source: { kind: 'kubeconfig', kubeconfig: 'apiVersion: v1' }, creationTimestamp: '2026-01-01T00:00:00.000Z' };
    expect(ClusterRecordSchema.parse(imported)).to.deep.equal(imported);
    const provisioned = ClusterRecordSchema.parse({ name: 'new', source: { kind: 'ssh', spec: parse(minimal), phase: 'Creating' }, creationTimestamp: '2026-01-01T00:00:00.000Z' });
    expect(provisioned.source).to.deep.include({ kind: 'ssh', phase: 'Creating', message: '' });
  });
});
