import { expect } from 'chai';
import { authorize, type AccessRequest } from '../../src/auth/authorizer.js';
import type { Principal } from '../../src/users.js';

const dev: Principal = { name: 'dev', isAdmin: false, projects: [{ cluster: 'c1', namespace: 'team' }, { cluster: 'c2', namespace: '_all' }] };
const admin: Principal = { name: 'admin', isAdmin: true, projects: [] };
const ns = (cluster: string, namespace: string) => [
  { kind: 'cluster', id: cluster },
  { kind: 'namespace', id: namespace },
];
const can = (user: Principal, req: AccessRequest) => authorize(user, req).allowed;

describe('authorizer', () => {
  it('lets admin do everything', () => {
    expect(can(admin, { verb: 'delete', kind: 'node', ancestry: [{ kind: 'cluster', id: 'x' }], id: 'n' })).to.equal(true);
    expect(can(admin, { verb: 'list', kind: 'auditlog', ancestry: [] })).to.equal(true);
  });

  it('grants read and write inside granted namespaces, _all granting every namespace', () => {
    for (const verb of ['list', 'get', 'create', 'update', 'delete', 'action'] as const) {
      expect(can(dev, { verb, kind: 'deployment', ancestry: ns('c1', 'team'), id: 'd' }), verb).to.equal(true);
      expect(can(dev, { verb, kind: 'deployment', ancestry: ns('c2', 'anything'), id: 'd' }), verb).to.equal(true);
      expect(can(dev, { verb, kind: 'deployment', ancestry: ns('c1', 'other'), id: 'd' }), verb).to.equal(false);
      expect(can(dev, { verb, kind: 'deployment', ancestry: ns('c3', 'team'), id: 'd' }), verb).to.equal(false);
    }
  });

  it('grants cluster-level reads only where the user holds a project, and no cluster-level writes', () => {
    const c1 = [{ kind: 'cluster', id: 'c1' }];
    expect(can(dev, { verb: 'list', kind: 'node', ancestry: c1 })).to.equal(true);
    expect(can(dev, { verb: 'get', kind: 'persistentvolume', ancestry: c1, id: 'pv' })).to.equal(true);
    expect(can(dev, { verb: 'delete', kind: 'persistentvolume', ancestry: c1, id: 'pv' })).to.equal(false);
    expect(can(dev, { verb: 'action', kind: 'node', ancestry: c1, id: 'n', action: 'cordon' })).to.equal(false);
    expect(can(dev, { verb: 'list', kind: 'node', ancestry: [{ kind: 'cluster', id: 'c9' }] })).to.equal(false);
    expect(can(dev, { verb: 'create', kind: 'namespace', ancestry: c1 })).to.equal(false);
    expect(can(dev, { verb: 'get', kind: 'namespace', ancestry: c1, id: 'team' })).to.equal(true);
    expect(can(dev, { verb: 'get', kind: 'namespace', ancestry: c1, id: 'other' })).to.equal(false);
    const list = authorize(dev, { verb: 'list', kind: 'namespace', ancestry: c1 });
    expect(list.allowed && list.visible?.({ id: 'team' })).to.equal(true);
    expect(list.allowed && list.visible?.({ id: 'other' })).to.equal(false);
  });

  it('shows clusters where the user holds a project; only admin changes them', () => {
    const list = authorize(dev, { verb: 'list', kind: 'cluster', ancestry: [] });
    expect(list.allowed && [list.visible?.({ id: 'c1' }), list.visible?.({ id: 'c3' })]).to.deep.equal([true, false]);
    expect(can(dev, { verb: 'get', kind: 'cluster', ancestry: [], id: 'c2' })).to.equal(true);
    expect(can(dev, { verb: 'delete', kind: 'cluster', ancestry: [], id: 'c2' })).to.equal(false);
    expect(can(dev, { verb: 'action', kind: 'cluster', ancestry: [], id: 'c2', action: 'getkubeconfig' })).to.equal(false);
  });

  it('keeps top-level kinds admin-only unless a rule opens them', () => {
    expect(can(dev, { verb: 'list', kind: 'auditlog', ancestry: [] })).to.equal(false);
    expect(can(dev, { verb: 'create', kind: 'registry', ancestry: [] })).to.equal(false);
    expect(can(dev, { verb: 'action', kind: 'user', ancestry: [], id: 'dev', action: 'resetPassword' })).to.equal(true);
    expect(can(dev, { verb: 'update', kind: 'user', ancestry: [], id: 'dev' })).to.equal(false);
  });
});
