import { expect } from 'chai';
import { secretResource, secretToApi, secretToKube } from '../../api/resources/secret.js';
import type { SecretObject } from '../../src/kube/objects.js';
import { rejectionOf } from '../helpers/input.js';

describe('secret translation', () => {
  it('stores plain-text values base64-encoded in an Opaque Secret and reads them back', () => {
    const input = { name: 'db', data: [{ key: 'password', value: 'p@ss wörd' }, { key: 'user', value: 'admin' }] };
    const kube = secretToKube(input, 'ns');
    expect(kube).to.deep.equal({
      metadata: { name: 'db', namespace: 'ns' },
      type: 'Opaque',
      data: { password: Buffer.from('p@ss wörd').toString('base64'), user: 'YWRtaW4=' },
    });
    const api = secretToApi({ ...kube, metadata: { ...kube.metadata, creationTimestamp: 't' } });
    expect(api).to.deep.equal({ id: 'db', name: 'db', data: input.data, creationTimestamp: 't' });
  });

  it('keeps the current metadata on update and replaces the data whole', () => {
    const current: SecretObject = { metadata: { name: 'db', namespace: 'ns', resourceVersion: '7', labels: { a: 'b' } }, type: 'Opaque', data: { old: 'eA==' } };
    const next = secretToKube({ name: 'db', data: [{ key: 'new', value: 'y' }] }, 'ns', current);
    expect(next.metadata).to.deep.include({ resourceVersion: '7', labels: { a: 'b' } });
    expect(next.data).to.deep.equal({ new: 'eQ==' });
  });

  it('rejects duplicate keys, missing keys and bad key characters, naming the field', () => {
    const fieldOf = (body: unknown) => rejectionOf(secretResource.create!.input, body);
    expect(fieldOf({ name: 's', data: [{ key: 'k', value: '1' }, { key: 'k', value: '2' }] })).to.match(/^data\.1: duplicate key "k"/);
    expect(fieldOf({ name: 's', data: [{ value: '1' }] })).to.equal('data.0.key: is required');
    expect(fieldOf({ name: 's', data: [{ key: 'a b', value: '1' }] })).to.match(/^data\.0\.key: /);
    expect(fieldOf({ name: 's' })).to.equal('data: is required');
    expect(fieldOf({ name: 's', data: [{ key: 'k' }] })).to.equal(undefined);
  });
});
