import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { objectNameOf } from '../../src/store/kubernetes-store.js';
import { STORED_KINDS, storeCrd } from '../../src/store/store-kinds.js';
import { collections } from '../../server/zcloud.js';

describe('kubernetes store kinds', () => {
  it('deploy/crds/zcloud-store.yaml holds the CRDs the store installs', () => {
    const file = yaml.loadAll(readFileSync(new URL('../../deploy/crds/zcloud-store.yaml', import.meta.url), 'utf8'));
    expect(file).to.deep.equal(Object.values(STORED_KINDS).map(storeCrd));
  });

  it('has a kind for every collection and log zcloud stores', () => {
    expect(collections.map((def) => def.name)).to.have.members(Object.keys(STORED_KINDS));
  });

  it('names an object after its id when that is a valid name, else after its hash', () => {
    expect(objectNameOf('ann')).to.equal('ann');
    expect(objectNameOf('Ann_1')).to.match(/^h-[0-9a-f]{40}$/);
    expect(objectNameOf('Ann_1')).to.not.equal(objectNameOf('Ann_2'));
  });
});
