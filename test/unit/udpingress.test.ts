import { expect } from 'chai';
import { parseUdpEntry, udpEntriesOf, udpEntryToApi, udpingressResource, udpTarget } from '../../api/resources/udpingress.js';
import type { ConfigMapObject } from '../../src/kube/objects.js';
import { rejectionOf } from '../helpers/input.js';

describe('udpingress translation', () => {
  it('round-trips an entry through the udp-services data format', () => {
    const target = udpTarget('ns', { serviceName: 'dns', servicePort: 53 });
    expect(target).to.equal('ns/dns:53');
    const entry = parseUdpEntry('5353', target);
    expect(entry).to.deep.equal({ port: 5353, namespace: 'ns', serviceName: 'dns', servicePort: 53 });
    expect(udpEntryToApi(entry!)).to.deep.equal({ id: '5353', port: 5353, serviceName: 'dns', servicePort: 53 });
  });

  it('reads entries with ingress-nginx options, and skips what is not a forward', () => {
    expect(parseUdpEntry('9000', 'ns/svc:90:PROXY')).to.deep.include({ serviceName: 'svc', servicePort: 90 });
    expect(parseUdpEntry('abc', 'ns/svc:90')).to.equal(undefined);
    expect(parseUdpEntry('9000', 'garbage')).to.equal(undefined);
  });

  it("lists only the request namespace's entries, by port", () => {
    const cm: ConfigMapObject = { metadata: { name: 'udp-services', namespace: 'ingress-nginx' }, data: { '70': 'a/x:7', '60': 'a/y:6', '65': 'b/z:6', junk: 'a/q:1' } };
    expect(udpEntriesOf(cm, 'a').map((e) => e.port)).to.deep.equal([60, 70]);
    expect(udpEntriesOf(undefined, 'a')).to.deep.equal([]);
  });

  it('rejects bad input naming the field', () => {
    const rejection = (body: unknown) => rejectionOf(udpingressResource.create!.input, body);
    expect(rejection({ port: 5353, serviceName: 'dns', servicePort: 53 })).to.equal(undefined);
    expect(rejection({ serviceName: 'dns', servicePort: 53 })).to.equal('port: is required');
    expect(rejection({ port: 65536, serviceName: 'dns', servicePort: 53 })).to.match(/^port: /);
    expect(rejection({ port: 53.5, serviceName: 'dns', servicePort: 53 })).to.match(/^port: /);
    expect(rejection({ port: 5353, serviceName: 'Dns!', servicePort: 53 })).to.match(/^serviceName: /);
    expect(rejection({ port: 5353, serviceName: 'dns', servicePort: 'x' })).to.match(/^servicePort: /);
  });
});
