import { expect } from 'chai';
import { serviceResource, serviceToApi, serviceToKube } from '../../api/resources/service.js';
import type { ServiceObject } from '../../src/kube/objects.js';
import { rejectionOf } from '../helpers/input.js';

const rejection = (body: unknown) => rejectionOf(serviceResource.create!.input, body);

const dns = { name: 'dns', port: 53, protocol: 'udp', targetPort: 5353 } as const;

describe('service translation', () => {
  it('makes a ClusterIP service selecting app=<name>, and reads it back', () => {
    const kube = serviceToKube({ name: 'web', serviceType: 'clusterip', headless: false, exposedPorts: [{ name: 'http', port: 80, protocol: 'tcp', targetPort: 8080 }] }, 'ns');
    expect(kube).to.deep.equal({
      metadata: { name: 'web', namespace: 'ns' },
      spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
    });
    const api = serviceToApi({ ...kube, spec: { ...kube.spec, clusterIP: '10.0.0.9' } });
    expect(api).to.deep.include({ id: 'web', serviceType: 'clusterip', headless: false, clusterIP: '10.0.0.9' });
    expect(api.exposedPorts).to.deep.equal([{ name: 'http', port: 80, protocol: 'tcp', targetPort: 8080 }]);
  });

  it('makes headless services with clusterIP None and shows node ports of nodeport services', () => {
    const headless = serviceToKube({ name: 'db', serviceType: 'clusterip', headless: true, exposedPorts: [] }, 'ns');
    expect(headless.spec?.clusterIP).to.equal('None');
    expect(serviceToApi(headless)).to.deep.include({ headless: true, exposedPorts: [] });
    const nodePort: ServiceObject = {
      metadata: { name: 'dns', namespace: 'ns' },
      spec: { type: 'NodePort', clusterIP: '10.0.0.1', ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353, nodePort: 30053 }] },
    };
    expect(serviceToApi(nodePort)).to.deep.include({ serviceType: 'nodeport', exposedPorts: [{ ...dns, nodePort: 30053 }] });
  });

  it('shows services made elsewhere sensibly: named target ports left out, LoadBalancer as nodeport', () => {
    const api = serviceToApi({ metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 443, targetPort: 'https', nodePort: 31443 }] } });
    expect(api).to.deep.include({ serviceType: 'nodeport', headless: false, clusterIP: '' });
    expect(api.exposedPorts).to.deep.equal([{ name: '', port: 443, protocol: 'tcp', nodePort: 31443 }]);
  });

  it('rejects bad input naming the field', () => {
    expect(rejection({ name: 'dns', serviceType: 'nodeport', exposedPorts: [dns] })).to.equal(undefined);
    expect(rejection({ name: 'dns', serviceType: 'loadbalancer', exposedPorts: [dns] })).to.match(/^serviceType: /);
    expect(rejection({ name: 'dns', exposedPorts: [dns] })).to.equal('serviceType: is required');
    expect(rejection({ name: 'dns', serviceType: 'clusterip', exposedPorts: [{ ...dns, protocol: undefined }] })).to.equal('exposedPorts.0.protocol: is required');
    expect(rejection({ name: 'dns', serviceType: 'nodeport', headless: true, exposedPorts: [dns] })).to.equal('headless: a nodeport service cannot be headless');
    expect(rejection({ name: 'dns', serviceType: 'clusterip', exposedPorts: [] })).to.match(/^exposedPorts: needs at least one port/);
    expect(rejection({ name: 'dns', serviceType: 'clusterip', headless: true, exposedPorts: [] })).to.equal(undefined);
    expect(rejection({ name: '1dns', serviceType: 'clusterip', exposedPorts: [dns] })).to.match(/^name: /);
    expect(rejection({ name: 'dns', serviceType: 'clusterip', exposedPorts: [{ ...dns, port: 70000 }] })).to.match(/^exposedPorts\.0\.port: /);
    expect(rejection({ name: 'dns', serviceType: 'clusterip', exposedPorts: [{ ...dns, protocol: 'sctp' }] })).to.match(/^exposedPorts\.0\.protocol: /);
    expect(rejection({ name: 'dns', serviceType: 'clusterip', exposedPorts: [{ ...dns, targetPort: '53' }] })).to.match(/^exposedPorts\.0\.targetPort: /);
    expect(rejection({ name: 'dns', serviceType: 'clusterip', exposedPorts: [dns, { ...dns, port: 54 }] })).to.match(/^exposedPorts\.1: duplicate port name "dns"/);
    expect(rejection({ name: 'dns', serviceType: 'clusterip', exposedPorts: [dns, { ...dns, name: 'other' }] })).to.match(
      /^exposedPorts\.1: duplicate port and protocol "53\/udp"/,
    );
  });
});
