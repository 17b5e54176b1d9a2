import { expect } from 'chai';
import { outerServiceToApi } from '../../api/resources/outerservice.js';
import { entryPointId, entryPointsOf, outerServices, parseStreamTarget } from '../../src/views/service-topology.js';
import { storesWith, svc } from '../views/plain-stores.js';

const ns = 'shop';
const v1 = (name: string) => ({ service: { name, port: { number: 80 } } });

describe('outerservice view', () => {
  const read = storesWith({
    services: [svc('web', { app: 'web' }), svc('api', { app: 'api' }), svc('dns', { app: 'dns' })],
    pods: [{ metadata: { name: 'web-0', namespace: ns, labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }] }, status: { phase: 'Running' } }],
    ingresses: [
      {
        metadata: { name: 'b-site', namespace: ns },
        spec: {
          rules: [
            { host: 'web.example.com', http: { paths: [{ path: '/', backend: v1('api') }, { path: '/static', backend: v1('web') }] } },
            { http: { paths: [{ backend: v1('web') }] } },
          ],
        },
      },
      // Older API versions name the backend service flat; `a-site` sorts first and keeps "/".
      { metadata: { name: 'a-site', namespace: ns }, spec: { rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', backend: { serviceName: 'web' } }] } }] } },
      { metadata: { name: 'fallback', namespace: ns }, spec: { defaultBackend: v1('api') } },
      { metadata: { name: 'other-ns', namespace: 'other' }, spec: { rules: [{ host: 'x.example.com', http: { paths: [{ path: '/', backend: v1('web') }] } }] } },
    ],
    configmaps: [
      { metadata: { name: 'udp-services', namespace: 'ingress-nginx' }, data: { '5353': `${ns}/dns:53`, '9000': 'other/dns:53', '9001': 'garbage' } },
      { metadata: { name: 'tcp-services', namespace: 'ingress-nginx' }, data: { '2222': `${ns}/api:22:PROXY` } },
      { metadata: { name: 'udp-services', namespace: ns }, data: { '1': `${ns}/web:1` } },
    ],
  });

  it('finds every entry point of the namespace: hosts with paths, host-less rules, default backends, tcp and udp forwards', () => {
    const entries = entryPointsOf(read, ns);
    expect(Object.fromEntries([...entries].map(([entry, services]) => [entry, Object.fromEntries(services)]))).to.deep.equal({
      'http://web.example.com': { '/': 'web', '/static': 'web' },
      'http://*': { '/': 'web' },
      'tcp:2222': { '22': 'api' },
      'udp:5353': { '53': 'dns' },
    });
  });

  it('lists entry points sorted, each path leading to the innerservice shape of its service', () => {
    const views = outerServices(read, ns);
    expect(views.map((v) => v.entryPoint)).to.deep.equal(['http://*', 'http://web.example.com', 'tcp:2222', 'udp:5353']);
    expect(outerServiceToApi(views[1])).to.deep.equal({
      id: 'http-web.example.com',
      entryPoint: 'http://web.example.com',
      services: {
        '/': { name: 'web', workloads: [{ kind: 'statefulset', name: 'web', pods: [{ name: 'web-0', state: 'Running' }] }] },
        '/static': { name: 'web', workloads: [{ kind: 'statefulset', name: 'web', pods: [{ name: 'web-0', state: 'Running' }] }] },
      },
    });
    expect(outerServiceToApi(views[3])).to.deep.include({ id: 'udp-5353', entryPoint: 'udp:5353' });
  });

  it('lists nothing for a namespace without ingresses or forwards', () => {
    expect(outerServices(read, 'empty')).to.deep.equal([]);
  });

  it('parses ingress-nginx stream targets and derives URL-safe ids', () => {
    expect(parseStreamTarget('shop/dns:53')).to.deep.equal({ namespace: 'shop', service: 'dns', port: '53' });
    expect(parseStreamTarget(' shop/api:22:PROXY:PROXY ')).to.deep.equal({ namespace: 'shop', service: 'api', port: '22' });
    expect(parseStreamTarget('dns:53')).to.equal(undefined);
    expect(entryPointId('http://*')).to.equal('http-*');
    expect(entryPointId('tcp:2222')).to.equal('tcp-2222');
  });
});
