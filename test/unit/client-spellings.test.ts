import { expect } from 'chai';
import { parseInput } from '../../api/framework/http-errors.js';
import type { ResourceDefinition } from '../../api/framework/resource.js';
import { clusterResource } from '../../api/resources/cluster.js';
import { cronjobResource } from '../../api/resources/cronjob.js';
import { daemonsetResource } from '../../api/resources/daemonset.js';
import { deploymentResource } from '../../api/resources/deployment.js';
import { jobResource } from '../../api/resources/job.js';
import { serviceResource } from '../../api/resources/service.js';
import { statefulsetResource } from '../../api/resources/statefulset.js';
import { storageclusterResource } from '../../api/resources/storagecluster.js';
import { rejectionOf } from '../helpers/input.js';

const created = (resource: ResourceDefinition, body: unknown): unknown => parseInput(resource.create!.input, body);

/** A workload body whose one container exposes `protocol` on port 80. */
function workload(protocol: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'web',
    replicas: 1,
    schedule: '@hourly',
    restartPolicy: 'Never',
    containers: [{ name: 'main', image: 'nginx', exposedPorts: [{ name: 'http', port: 80, protocol }] }],
    ...extra,
  };
}

describe('spellings real clients send (issue 15)', () => {
  const workloads: Array<[string, ResourceDefinition, string]> = [
    ['deployment', deploymentResource, 'TCP'],
    ['statefulset', statefulsetResource, 'tcp'],
    ['daemonset', daemonsetResource, 'tcp'],
    ['job', jobResource, 'tcp'],
    ['cronjob', cronjobResource, 'tcp'],
  ];

  for (const [kind, resource, seedSpelling] of workloads) {
    it(`${kind}: takes tcp, TCP, udp and UDP and reads them in the seed's spelling (${seedSpelling})`, () => {
      for (const [sent, protocol] of [
        ['tcp', 'TCP'],
        ['TCP', 'TCP'],
        ['udp', 'UDP'],
        ['UDP', 'UDP'],
      ]) {
        const expected = seedSpelling === 'TCP' ? protocol : protocol.toLowerCase();
        const a = created(resource, workload(sent)) as { containers: Array<{ exposedPorts: Array<{ protocol: string }> }> };
        expect(a.containers[0].exposedPorts[0].protocol, sent).to.equal(expected);
        expect(created(resource, workload(sent)), sent).to.deep.equal(created(resource, workload(expected)));
      }
      expect(rejectionOf(resource.create!.input, workload('sctp'))).to.match(/^containers\.0\.exposedPorts\.0\.protocol: /);
    });
  }

  it('job and cronjob ignore the replicas the console sends; wrong types are still refused naming the field', () => {
    for (const resource of [jobResource, cronjobResource]) {
      expect(created(resource, workload('tcp', { replicas: 3 }))).to.not.have.property('replicas');
      expect(rejectionOf(resource.create!.input, workload('tcp', { name: 7 }))).to.match(/^name: /);
    }
    expect(rejectionOf(deploymentResource.create!.input, workload('tcp', { replicas: 'two' }))).to.match(/^replicas: /);
  });

  it('service: takes either case of protocol, ignores targetResourceType, targetName and per-port enable', () => {
    const service = (protocol: string, extra: Record<string, unknown> = {}, port: Record<string, unknown> = {}) => ({
      name: 'web',
      serviceType: 'clusterip',
      exposedPorts: [{ name: 'http', port: 80, targetPort: 8080, protocol, ...port }],
      ...extra,
    });
    const plain = created(serviceResource, service('tcp'));
    expect(created(serviceResource, service('TCP'))).to.deep.equal(plain);
    expect(created(serviceResource, service('TCP', { targetResourceType: 'deployment', targetName: 'web' }, { enable: true }))).to.deep.equal(plain);
    expect(created(serviceResource, service('UDP'))).to.deep.equal(created(serviceResource, service('udp')));
    expect(rejectionOf(serviceResource.create!.input, service('tcp', {}, { port: 'eighty' }))).to.match(/^exposedPorts\.0\.port: /);
    expect(rejectionOf(serviceResource.create!.input, { ...service('tcp'), name: undefined })).to.equal('name: is required');
  });

  it('storagecluster: storageType as well as storagetype, cephfs as well as ceph', () => {
    const seed = created(storageclusterResource, { name: 'ceph', storagetype: 'ceph', hosts: ['w1'] });
    expect(created(storageclusterResource, { name: 'ceph', storageType: 'ceph', hosts: ['w1'] })).to.deep.equal(seed);
    expect(created(storageclusterResource, { name: 'ceph', storagetype: 'cephfs', hosts: ['w1'] })).to.deep.equal(seed);
    expect(created(storageclusterResource, { name: 'ceph', storageType: 'cephfs', hosts: ['w1'] })).to.deep.equal(seed);
    expect(rejectionOf(storageclusterResource.create!.input, { name: 'x', hosts: ['w1'] })).to.equal('storagetype: is required');
    expect(rejectionOf(storageclusterResource.create!.input, { name: 'x', storageType: 'nfs', hosts: ['w1'] })).to.match(/^storagetype: /);
  });

  it('cluster: kubernetsVersion and singlecloudAddress are read as kubernetesVersion and singleCloudAddress', () => {
    const seed = created(clusterResource, { name: 'c1', nodes: [], kubernetesVersion: 'v1.20.2', singleCloudAddress: '10.0.0.1:80' });
    expect(created(clusterResource, { name: 'c1', nodes: [], kubernetsVersion: 'v1.20.2', singlecloudAddress: '10.0.0.1:80' })).to.deep.equal(seed);
    expect(rejectionOf(clusterResource.create!.input, { name: 'c1', nodes: [], kubernetsVersion: 1 })).to.match(/^kubernetesVersion: /);
  });
});
