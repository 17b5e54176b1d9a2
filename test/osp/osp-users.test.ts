import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { API, sha1, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

describe('OSP API: login and users', () => {
  let zcloud: TestZcloud;
  let admin: string;

  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_OSP_TOKEN_TTL: '30m' } });
    const res = await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin', password: 'zcloud' } });
    expect(res.status).to.equal(200);
    admin = res.body.data.token;
  });
  after(() => zcloud.close());

  it('logs in with the plain password into a 30-minute token for the OSP API only', async () => {
    const res = await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin', password: 'zcloud' } });
    expect(res.body).to.include({ code: 'Success', msg: 'Success' });
    const claims = decodeJwt(res.body.data.token);
    expect(claims.exp! - claims.iat!).to.be.within(1800, 1801);
    expect(claims.aud).to.equal('osp');
    expect((await zcloud.request('GET', '/osp/api/users', { token: res.body.data.token })).status).to.equal(200);
    // Its 30 minutes would be no bound if it opened the zcloud.cn API, whose tokens live a day; nor the reverse.
    expect((await zcloud.request('GET', `${API}/users`, { token: res.body.data.token })).status).to.equal(401);
    const zcloudToken = await zcloud.adminToken();
    expect((await zcloud.request('GET', '/osp/api/users', { token: zcloudToken })).status).to.equal(401);
  });

  it('answers a wrong password with 401 Unauthorized in the envelope', async () => {
    const res = await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin', password: 'wrong' } });
    expect(res.status).to.equal(401);
    expect(res.body.code).to.equal('Unauthorized');
    expect(res.body.msg).to.be.a('string').and.not.equal('');
    const missing = await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin' } });
    expect(missing.status).to.equal(422);
    expect(missing.body).to.deep.equal({ code: 'InvalidParameter', msg: 'password: is required' });
  });

  it('creates a user (admin, all fields required) who then logs in on zcloud.cn with the sha1', async () => {
    const create = await zcloud.request('POST', '/osp/api/users', { token: admin, body: { name: 'olga', email: 'olga@example.com', password: 'olga-pw' } });
    expect(create.status).to.equal(200);
    expect(create.body).to.include({ code: 'Success', msg: 'Success' });
    const token = await zcloud.login('olga', sha1('olga-pw'));
    const me = await zcloud.request('GET', `${API}/users/olga`, { token });
    expect(me.body).to.include({ name: 'olga', email: 'olga@example.com' });
    expect(me.body.updateTimestamp).to.be.a('string');
    expect(me.text).to.not.include('olga-pw');
    const noEmail = await zcloud.request('POST', '/osp/api/users', { token: admin, body: { name: 'pete', password: 'x' } });
    expect(noEmail.status).to.equal(422);
    expect(noEmail.body.code).to.equal('InvalidParameter');
    expect(noEmail.body.msg).to.match(/^email: /);
    const dup = await zcloud.request('POST', '/osp/api/users', { token: admin, body: { name: 'olga', email: 'o@example.com', password: 'x' } });
    expect(dup.status).to.equal(409);
    expect(dup.body.code).to.equal('Conflict');
    const olgaOsp = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'olga', password: 'olga-pw' } })).body.data.token;
    const byUser = await zcloud.request('POST', '/osp/api/users', { token: olgaOsp, body: { name: 'quinn', email: 'q@example.com', password: 'x' } });
    expect(byUser.status).to.equal(403);
    expect(byUser.body.code).to.equal('Forbidden');
  });

  it('lists users with OSP times, filtered by name; a user sees only itself', async () => {
    const all = await zcloud.request('GET', '/osp/api/users', { token: admin });
    expect(all.body.code).to.equal('Success');
    const olga = all.body.data.find((u: { name: string }) => u.name === 'olga');
    expect(Object.keys(olga).sort()).to.deep.equal(['create_time', 'email', 'name', 'update_time']);
    expect(olga.create_time).to.match(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const filtered = await zcloud.request('GET', '/osp/api/users?name=olga', { token: admin });
    expect(filtered.body.data.map((u: { name: string }) => u.name)).to.deep.equal(['olga']);
    const token = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'olga', password: 'olga-pw' } })).body.data.token;
    const own = await zcloud.request('GET', '/osp/api/users', { token });
    expect(own.body.data.map((u: { name: string }) => u.name)).to.deep.equal(['olga']);
    expect(all.text).to.not.match(/password|credential/);
  });

  it('updates email and password (admin or the user itself); a new password voids old tokens', async () => {
    await zcloud.request('POST', '/osp/api/users', { token: admin, body: { name: 'rita', email: 'rita@example.com', password: 'rita-1' } });
    const rita = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'rita', password: 'rita-1' } })).body.data.token;
    const olga = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'olga', password: 'olga-pw' } })).body.data.token;
    expect((await zcloud.request('PUT', '/osp/api/users/rita', { token: olga, body: { email: 'x@example.com' } })).status).to.equal(403);
    const self = await zcloud.request('PUT', '/osp/api/users/rita', { token: rita, body: { email: 'rita@new.example.com' } });
    expect(self.status).to.equal(200);
    const byAdmin = await zcloud.request('PUT', '/osp/api/users/rita', { token: admin, body: { password: 'rita-2' } });
    expect(byAdmin.status).to.equal(200);
    expect((await zcloud.request('GET', '/osp/api/users', { token: rita })).status).to.equal(401);
    const relogin = await zcloud.request('POST', '/osp/api/login', { body: { name: 'rita', password: 'rita-2' } });
    expect(relogin.status).to.equal(200);
    const list = await zcloud.request('GET', '/osp/api/users?name=rita', { token: admin });
    expect(list.body.data[0].email).to.equal('rita@new.example.com');
    expect((await zcloud.request('PUT', '/osp/api/users/nobody', { token: admin, body: { email: 'n@example.com' } })).status).to.equal(404);
    const badEmail = await zcloud.request('PUT', '/osp/api/users/rita', { token: admin, body: { email: 'not-an-email' } });
    expect(badEmail.status).to.equal(422);
  });

  it('answers 401 without a token and keeps passwords out of the audit trail', async () => {
    const res = await zcloud.request('GET', '/osp/api/users');
    expect(res.status).to.equal(401);
    expect(res.body.code).to.equal('Unauthorized');
    const audit = await zcloud.request('GET', `${API}/auditlogs`, { token: await zcloud.adminToken() });
    expect(audit.text).to.not.include('olga-pw');
    expect(audit.text).to.not.include('rita-2');
    expect(audit.body.data.some((e: { path: string }) => e.path === '/osp/api/users')).to.equal(true);
  });
});

describe('OSP token lifetime', () => {
  let zcloud: TestZcloud;
  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_OSP_TOKEN_TTL: '2s' } });
  });
  after(() => zcloud.close());

  it('rejects an expired OSP token with 401', async () => {
    const token = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin', password: 'zcloud' } })).body.data.token;
    expect((await zcloud.request('GET', '/osp/api/users', { token })).status).to.equal(200);
    await new Promise((r) => setTimeout(r, 3100));
    const res = await zcloud.request('GET', '/osp/api/users', { token });
    expect(res.status).to.equal(401);
    expect(res.body).to.deep.equal({ code: 'Unauthorized', msg: 'token expired' });
  });
});
