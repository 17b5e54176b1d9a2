import { request } from 'node:http';
import { expect } from 'chai';
import { API, sha1, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

/**
 * A verified token is remembered until its expiry so repeated requests skip the signature
 * check; these are the ways a remembered token must still stop working at once.
 */
describe('verified-token cache', () => {
  let zcloud: TestZcloud;
  let admin: string;

  before(async () => {
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
  });
  after(() => zcloud.close());

  async function userWithToken(name: string): Promise<string> {
    const created = await zcloud.request('POST', `${API}/users`, { token: admin, body: { name, password: sha1(`${name}-pw`), projects: [] } });
    expect(created.status, created.text).to.equal(201);
    const token = await zcloud.login(name, sha1(`${name}-pw`));
    // Used twice: verified, then answered from the cache.
    for (let i = 0; i < 2; i++) expect((await zcloud.request('GET', `${API}/users/${name}`, { token })).status).to.equal(200);
    return token;
  }

  it('refuses a used token at once after an admin sets a new password', async () => {
    const token = await userWithToken('tc-pw');
    const put = await zcloud.request('PUT', `${API}/users/tc-pw`, { token: admin, body: { password: sha1('other'), projects: [] } });
    expect(put.status, put.text).to.equal(200);
    const res = await zcloud.request('GET', `${API}/users/tc-pw`, { token });
    expect(res.status).to.equal(401);
    expect(res.body.message).to.equal('the password changed since this token was issued');
    expect((await zcloud.request('GET', `${API}/users/tc-pw`, { token: await zcloud.login('tc-pw', sha1('other')) })).status).to.equal(200);
  });

  it('refuses a used token at once after its user is deleted', async () => {
    const token = await userWithToken('tc-gone');
    expect((await zcloud.request('DELETE', `${API}/users/tc-gone`, { token: admin })).status).to.equal(204);
    const res = await zcloud.request('GET', `${API}/users/tc-gone`, { token });
    expect(res.status).to.equal(401);
    expect(res.body.message).to.equal('the token belongs to a user that no longer exists');
  });

  it('refuses a deleted user\'s token after a user of the same name and password is created again', async () => {
    const token = await userWithToken('tc-again');
    expect((await zcloud.request('DELETE', `${API}/users/tc-again`, { token: admin })).status).to.equal(204);
    const again = await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'tc-again', password: sha1('tc-again-pw'), projects: [] } });
    expect(again.status, again.text).to.equal(201);
    const res = await zcloud.request('GET', `${API}/users/tc-again`, { token });
    expect(res.status).to.equal(401);
    expect((await zcloud.request('GET', `${API}/users/tc-again`, { token: await zcloud.login('tc-again', sha1('tc-again-pw')) })).status).to.equal(200);
  });

  it('sees project changes on the next request of a used token', async () => {
    const token = await userWithToken('tc-proj');
    const before = await zcloud.request('GET', `${API}/users/tc-proj`, { token });
    expect(before.body.projects).to.deep.equal([]);
    const put = await zcloud.request('PUT', `${API}/users/tc-proj`, { token: admin, body: { projects: [{ cluster: 'c1', namespace: 'n1' }] } });
    expect(put.status, put.text).to.equal(200);
    // Still the same token and user, so still 200; the grant itself is the authorizer's (tested elsewhere).
    const after = await zcloud.request('GET', `${API}/users/tc-proj`, { token });
    expect(after.status).to.equal(200);
    expect(after.body.projects).to.deep.equal([{ cluster: 'c1', namespace: 'n1' }]);
  });

  it('refuses a used web session at once after logout', async () => {
    const login = await zcloud.request('POST', '/web/login', { body: { name: 'admin', password: sha1('zcloud') } });
    expect(login.status, login.text).to.equal(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    for (let i = 0; i < 2; i++) expect((await zcloud.request('GET', `${API}/users`, { headers: { cookie } })).status).to.equal(200);
    expect((await zcloud.request('GET', '/web/logout', { headers: { cookie } })).status).to.equal(200);
    const res = await zcloud.request('GET', `${API}/users`, { headers: { cookie } });
    expect(res.status).to.equal(401);
    expect(res.body.message).to.equal('the session was logged out');
  });

  it('keeps audiences apart after a token was used on its own API', async () => {
    const osp = await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin', password: 'zcloud' } });
    expect(osp.status, osp.text).to.equal(200);
    const ospToken: string = osp.body.data.token;
    for (let i = 0; i < 2; i++) expect((await zcloud.request('GET', '/osp/api/users', { token: ospToken })).status).to.equal(200);
    const onZcloud = await zcloud.request('GET', `${API}/users`, { token: ospToken });
    expect(onZcloud.status).to.equal(401);
    expect(onZcloud.body.message).to.equal('the token is not for the zcloud API');

    for (let i = 0; i < 2; i++) expect((await zcloud.request('GET', `${API}/users`, { token: admin })).status).to.equal(200);
    const onOsp = await zcloud.request('GET', '/osp/api/users', { token: admin });
    expect(onOsp.status).to.equal(401);
    expect(onOsp.body.msg).to.equal('the token is not for the osp API');
  });

  it('never reads the body of a GET: junk there does not change the answer', async () => {
    // fetch refuses a GET with a body; node:http sends one.
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${zcloud.url}${API}/users/admin`, { method: 'GET', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'content-length': '9' } }, (r) => {
        let text = '';
        r.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: r.statusCode!, text }));
      });
      req.on('error', reject);
      req.end('{not json');
    });
    expect(res.status, `${res.status} ${res.text}`).to.equal(200);
    expect(JSON.parse(res.text).name).to.equal('admin');
    const post = await zcloud.request('POST', `${API}/users`, { token: admin, rawBody: '{not json', headers: { 'content-type': 'application/json' } });
    expect(post.status).to.equal(422);
    expect(post.body.code).to.equal('InvalidFormat');
  });
});
