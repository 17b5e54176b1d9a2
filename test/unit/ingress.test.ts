import { expect } from 'chai';
import { ingressResource, ingressToApi, ingressToKube } from '../../api/resources/ingress.js';
import type { IngressObject } from '../../src/kube/objects.js';
import { rejectionOf } from '../helpers/input.js';

const rejection = (body: unknown) => rejectionOf(ingressResource.create!.input, body);
const web = { host: 'web.example.com', path: '/', serviceName: 'web', servicePort: 80 };

describe('ingress translation', () => {
  const input = {
    name: 'site',
    rules: [web, { host: 'api.example.com', path: '/v1', serviceName: 'api', servicePort: 8080 }, { ...web, path: '/static', serviceName: 'files' }],
  };

  it('groups flat rules by host into a networking.k8s.io/v1 Ingress, and flattens them back', () => {
    const kube = ingressToKube(input, 'ns', 'v1');
    expect(kube.spec?.rules).to.deep.equal([
      {
        host: 'web.example.com',
        http: {
          paths: [
            { path: '/', pathType: 'ImplementationSpecific', backend: { service: { name: 'web', port: { number: 80 } } } },
            { path: '/static', pathType: 'ImplementationSpecific', backend: { service: { name: 'files', port: { number: 80 } } } },
          ],
        },
      },
      { host: 'api.example.com', http: { paths: [{ path: '/v1', pathType: 'ImplementationSpecific', backend: { service: { name: 'api', port: { number: 8080 } } } }] } },
    ]);
    const api = ingressToApi({ ...kube, metadata: { ...kube.metadata, creationTimestamp: 't' } });
    expect(api).to.deep.equal({ id: 'site', name: 'site', rules: [input.rules[0], input.rules[2], input.rules[1]], creationTimestamp: 't' });
  });

  it('writes and reads the v1beta1 backend shape too', () => {
    const kube = ingressToKube(input, 'ns', 'v1beta1');
    expect(kube.spec?.rules?.[1].http?.paths[0].backend).to.deep.equal({ serviceName: 'api', servicePort: 8080 });
    expect(ingressToApi(kube).rules).to.have.deep.members(input.rules);
  });

  it('leaves out what has no flat form (named ports, rules without paths)', () => {
    const outside: IngressObject = {
      metadata: { name: 'x' },
      spec: { rules: [{ host: 'a.b', http: { paths: [{ path: '/', backend: { service: { name: 's', port: { name: 'http' } } } }] } }, { host: 'c.d' }] },
    };
    expect(ingressToApi(outside).rules).to.deep.equal([{ host: 'a.b', path: '/', serviceName: 's' }]);
  });

  it('rejects insane rules naming the field', () => {
    expect(rejection(input)).to.equal(undefined);
    expect(rejection({ ...input, rules: [{ ...web, host: '*.example.com' }] })).to.equal(undefined);
    expect(rejection({ name: 'site', rules: [] })).to.equal('rules: needs at least one rule');
    expect(rejection({ name: 'site' })).to.equal('rules: is required');
    expect(rejection({ name: 'site', rules: [{ ...web, host: 'Bad_Host' }] })).to.match(/^rules\.0\.host: must be a DNS name/);
    expect(rejection({ name: 'site', rules: [{ ...web, host: '10.0.0.1' }] })).to.equal('rules.0.host: must be a DNS name, not an IP address');
    expect(rejection({ name: 'site', rules: [{ ...web, path: 'static' }] })).to.match(/^rules\.0\.path: must start with "\/"/);
    expect(rejection({ name: 'site', rules: [{ ...web, servicePort: 0 }] })).to.match(/^rules\.0\.servicePort: /);
    expect(rejection({ name: 'site', rules: [{ ...web, servicePort: '80' }] })).to.match(/^rules\.0\.servicePort: /);
    expect(rejection({ name: 'site', rules: [{ ...web, serviceName: undefined }] })).to.equal('rules.0.serviceName: is required');
    expect(rejection({ name: 'site', rules: [web, { ...web, serviceName: 'other' }] })).to.match(/^rules\.1: duplicate host and path/);
  });
});
